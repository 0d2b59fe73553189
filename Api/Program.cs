using OrleansLocks.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddLockService();

var app = builder.Build();
app.MapLockService();
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory.</summary>
public partial class Program;
