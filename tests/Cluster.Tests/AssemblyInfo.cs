// Cluster tests run real silos with real timers (probes every second): running them side by side on a loaded
// 2-core machine would starve probes and make silos declare each other dead. One test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
