namespace OrleansLocks.Testing;

/// <summary>Secrets the test harnesses configure so that services start outside the Development environment.</summary>
public static class TestSecrets
{
    /// <summary>The <c>Silo:ClusterSecret</c> of every test cluster (silos, gateways and silo processes must agree).</summary>
    public const string ClusterSecret = "test-cluster-secret-0123456789abcdefghijklmnopqrstuvwxyz";
}
