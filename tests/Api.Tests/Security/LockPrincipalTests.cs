using System.Security.Claims;
using OrleansLocks.Api.Security;

namespace OrleansLocks.Api.Tests.Security;

/// <summary>The claims form of a principal: made once per long-lived principal, read-only, and read back without parsing.</summary>
public sealed class LockPrincipalTests
{
    private static readonly LockPrincipal Ops = new("ops", LockPrincipal.ApiKeyMethod, LockRoles.Client | LockRoles.Viewer, ["jobs:", "cron:"]);

    [Fact]
    public void ToClaimsPrincipal_SamePrincipal_IsMadeOnceAndReadsBackAsThatPrincipal()
    {
        var first = Ops.ToClaimsPrincipal();

        Assert.Same(first, Ops.ToClaimsPrincipal());
        Assert.Same(Ops, LockPrincipal.From(first));
        Assert.NotSame(first, new LockPrincipal("ops", LockPrincipal.ApiKeyMethod, Ops.Roles, Ops.Prefixes).ToClaimsPrincipal());
    }

    [Fact]
    public void ToIdentity_CarriesTheNormalizedClaims_AndCannotBeChanged()
    {
        var identity = Ops.ToIdentity();

        Assert.True(identity.IsAuthenticated);
        Assert.Equal("ops", identity.Name);
        Assert.Equal(["client", "viewer"], identity.FindAll(LockPrincipal.RoleClaim).Select(c => c.Value).Order());
        Assert.Equal(["jobs:", "cron:"], identity.FindAll(LockPrincipal.PrefixClaim).Select(c => c.Value));
        Assert.Throws<InvalidOperationException>(() => identity.AddClaim(new Claim(LockPrincipal.RoleClaim, "admin")));
        Assert.Throws<InvalidOperationException>(() => identity.AddClaims([new Claim(LockPrincipal.PrefixClaim, "")]));
        Assert.False(identity.TryRemoveClaim(identity.FindFirst(LockPrincipal.PrefixClaim)));
        Assert.Equal(2, identity.FindAll(LockPrincipal.PrefixClaim).Count());
    }

    [Fact]
    public void From_AnIdentityMadeElsewhereWithTheSameClaims_ParsesThem()
    {
        // E.g. a copy of the claims in another identity: the general path still reads the claims.
        var copy = new ClaimsIdentity(Ops.ToIdentity().Claims.Select(c => new Claim(c.Type, c.Value)), LockPrincipal.ApiKeyMethod);

        var parsed = LockPrincipal.From(new ClaimsPrincipal(copy));

        Assert.NotNull(parsed);
        Assert.Equal(Ops.Name, parsed.Name);
        Assert.Equal(Ops.Roles, parsed.Roles);
        Assert.Equal(Ops.Prefixes, parsed.Prefixes);
        Assert.Equal(Ops.Key, parsed.Key);
    }

    [Fact]
    public void From_NoAuthenticatedIdentity_IsNull()
        => Assert.Null(LockPrincipal.From(new ClaimsPrincipal(new ClaimsIdentity())));
}
