using OrleansLocks.Api.Endpoints;
using OrleansLocks.Api.Hosting;
using OrleansLocks.Api.OpenApi;
using OrleansLocks.Api.Security;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddLockSilo();
builder.AddLockApi();
builder.AddLockSecurity();

var app = builder.Build();

app.UseServiceDefaults();
app.UseLockSecurity();
app.MapLockApi();
app.MapClusterApi();
app.MapDefaultEndpoints();
app.MapLockApiDocs();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory.</summary>
public partial class Program;
