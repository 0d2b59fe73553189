using OrleansLocks.Benchmarks;

// Modes: "run" (the load generator, normally started by bench/run.sh), "serve-trivial" (the ceiling's trivial web
// app, started by the load generator in a process of its own) and "self-check" (the histogram against exact
// percentiles).
if (args.Length > 0 && args[0] == "serve-trivial")
{
    return await TrivialServer.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "self-check")
{
    return OrleansLocks.Benchmarks.Harness.SelfCheck.Run();
}

if (args.Length == 0 || args[0] != "run")
{
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args[1..]);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var report = await new BenchmarkRun(options).RunAsync();
Console.WriteLine(report);
if (options.OutputFile is { } file)
{
    await File.WriteAllTextAsync(file, report);
}

return 0;
