// The local-cluster test starts PostgreSQL and three .NET processes; the manifest tests start kubectl and node. On a
// loaded 2-core machine they are kinder to the rest of the suite one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
