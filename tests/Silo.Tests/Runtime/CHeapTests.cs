using OrleansLocks.Silo.Runtime;

namespace OrleansLocks.Silo.Tests.Runtime;

/// <summary>The C-heap trim that follows the collector's memory release.</summary>
public sealed class CHeapTests
{
    [Fact]
    public void Trim_AfterManySmallNativeBlocksWereFreed_ReleasesMemoryOnLinux()
    {
        // 40 MB in 2 KB blocks: below glibc's mmap threshold, so they come from the arenas and stay there when freed.
        var blocks = new IntPtr[20_000];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = System.Runtime.InteropServices.Marshal.AllocHGlobal(2048); // malloc on Unix
            System.Runtime.InteropServices.Marshal.WriteByte(blocks[i], 0, 1);
            System.Runtime.InteropServices.Marshal.WriteByte(blocks[i], 2047, 1);
        }

        foreach (var block in blocks)
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(block);
        }

        Assert.Equal(OperatingSystem.IsLinux(), CHeap.Trim());
    }
}
