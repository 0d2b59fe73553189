using System.Text;
using OrleansLocks.Silo.Storage;

namespace OrleansLocks.Silo.Tests.Storage;

public sealed class KeyOrderTests
{
    // Code units that matter: ASCII incl. LIKE wildcards, BMP below and above the surrogates, supplementary characters.
    private static readonly string[] Pieces = ["a", "b", "%", "_", "\\", "~", "\u00e9", "\ud7ff", "\ue000", "\uffff", "\U00010000", "\U0010ffff"];

    [Fact]
    public void Compare_RandomStrings_AgreesWithUtf8ByteOrderOfTheDatabases()
    {
        var random = new Random(1234);
        for (var i = 0; i < 20_000; i++)
        {
            var x = RandomKey(random);
            var y = RandomKey(random);

            var expected = Math.Sign(Encoding.UTF8.GetBytes(x).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y)));

            Assert.True(expected == Math.Sign(KeyOrder.Compare(x, y)), $"'{x}' vs '{y}'");
        }
    }

    [Fact]
    public void PrefixSuccessor_RandomKeys_BoundsExactlyTheKeysWithThePrefix()
    {
        var random = new Random(5678);
        for (var i = 0; i < 20_000; i++)
        {
            var prefix = RandomKey(random, maxPieces: 3);
            var key = random.Next(2) == 0 ? prefix + RandomKey(random) : RandomKey(random);
            var successor = KeyOrder.PrefixSuccessor(prefix);

            var inRange = KeyOrder.Compare(key, prefix) >= 0 && (successor is null || KeyOrder.Compare(key, successor) < 0);

            Assert.True(inRange == key.StartsWith(prefix, StringComparison.Ordinal), $"prefix '{prefix}', key '{key}', successor '{successor}'");
        }
    }

    [Theory]
    [InlineData("a", "b")]
    [InlineData("a%", "a&")]
    [InlineData("ab\U0010ffff", "ac")]
    [InlineData("\ud7ff", "\ue000")]
    [InlineData("\U0010ffff", null)]
    [InlineData("", null)]
    public void PrefixSuccessor_EdgeCases(string prefix, string? expected)
        => Assert.Equal(expected, KeyOrder.PrefixSuccessor(prefix));

    [Fact]
    public void Create_UnstorableKeys_AreRejected()
    {
        Assert.Throws<ArgumentException>(() => StorageKey.Create("lock", "state", "nul\0"));
        Assert.Throws<ArgumentException>(() => StorageKey.Create("lock", "state", "lone \ud800 surrogate"));
        Assert.Throws<ArgumentException>(() => StorageKey.Create("lock", "state", new string('x', StorageKey.MaxKeyBytes + 1)));
        Assert.Throws<ArgumentException>(() => StorageKey.Create(new string('t', StorageKey.MaxNameBytes + 1), "state", "k"));
        Assert.Equal("k", StorageKey.Create("lock", "state", "k").GrainKey);
        Assert.Equal(StorageKey.MaxKeyBytes, StorageKey.Create("lock", "state", new string('x', StorageKey.MaxKeyBytes)).GrainKey.Length);
    }

    private static string RandomKey(Random random, int maxPieces = 6)
    {
        var builder = new StringBuilder();
        var count = random.Next(maxPieces + 1);
        for (var i = 0; i < count; i++)
        {
            builder.Append(Pieces[random.Next(Pieces.Length)]);
        }

        return builder.ToString();
    }
}
