using System.Runtime.InteropServices;
using System.Text;
using MeshFederation.Engine.Validation;
using Microsoft.Win32.SafeHandles;

namespace MeshFederation.Engine.IO;

/// <summary>
/// Reads the text files the tool is given (topologies, kubeconfigs, PEM files, snapshots) safely: only regular files
/// (a FIFO, socket, device or folder is refused before it is opened for reading, so nothing blocks), at most a given
/// size, and only text (binary content is refused with its offset). Every refusal is a <see cref="MeshFederationException"/>
/// naming the field and the path.
/// </summary>
public static class InputFile
{
    /// <summary>Topology files: far more than any federation needs.</summary>
    public const long MaxTopologyBytes = 4L * 1024 * 1024;

    /// <summary>Kubeconfig files (many contexts with inlined certificates).</summary>
    public const long MaxKubeConfigBytes = 16L * 1024 * 1024;

    /// <summary>PEM files (certificates, keys, bundles).</summary>
    public const long MaxPemBytes = 1L * 1024 * 1024;

    /// <summary>Snapshot files (kubectl get -o yaml of many objects).</summary>
    public const long MaxSnapshotBytes = 64L * 1024 * 1024;

    /// <summary>Reads a text file; <paramref name="field"/> names it in problems (e.g. "topology", "--root-cert").</summary>
    public static string ReadText(string path, string field, long maxBytes, string fix)
    {
        var bytes = ReadBytes(path, field, maxBytes, fix);
        return Decode(bytes, path, field, fix);
    }

    /// <summary>True when the path names a regular file (following links); false for folders, devices, FIFOs and missing paths.</summary>
    public static bool IsRegularFile(string path)
    {
        if (Directory.Exists(path) || !File.Exists(path)) return false;
        if (!OperatingSystem.IsLinux()) return true;
        return LinuxFileType(path) == FileKind.Regular;
    }

    private static byte[] ReadBytes(string path, string field, long maxBytes, string fix)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Fail(MeshErrorKind.InvalidArgument, field, path, "is not a valid path", fix);
        }
        if (Directory.Exists(full))
            throw Fail(MeshErrorKind.InvalidArgument, field, full, "is a folder, not a file", fix);
        if (!File.Exists(full))
            throw Fail(MeshErrorKind.NotFound, field, full, "cannot be read: it does not exist", fix);
        try
        {
            using var handle = OperatingSystem.IsLinux() ? OpenLinux(full, field, fix) : File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var length = RandomAccess.GetLength(handle);
            if (length > maxBytes) throw TooLarge(field, full, length, maxBytes);
            using var stream = new FileStream(handle, FileAccess.Read, 1);
            var buffer = new MemoryStream((int)Math.Min(length + 1, maxBytes + 1));
            var chunk = new byte[81920];
            int n;
            while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > maxBytes) throw TooLarge(field, full, buffer.Length, maxBytes);
            }
            return buffer.ToArray();
        }
        catch (UnauthorizedAccessException)
        {
            throw Fail(MeshErrorKind.Io, field, full, "cannot be read: permission denied", "check the file's permissions (ls -l), or run as a user that may read it");
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw Fail(MeshErrorKind.Io, field, full, $"cannot be read ({e.Message})", fix);
        }
        catch (FileNotFoundException)
        {
            throw Fail(MeshErrorKind.NotFound, field, full, "cannot be read: it does not exist", fix);
        }
    }

    private static MeshFederationException TooLarge(string field, string path, long length, long max) =>
        Fail(MeshErrorKind.InvalidData, field, path, $"is {Size(length)}; the limit for this input is {Size(max)}",
            "give the right file; inputs of this kind are much smaller");

    private static string Size(long bytes) => bytes >= 1024 * 1024
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.#} MiB")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes} bytes");

    private static string Decode(byte[] bytes, string path, string field, string fix)
    {
        Encoding encoding = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var offset = 0;
        if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) offset = 3;
        else if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE) { encoding = new UnicodeEncoding(false, false, true); offset = 2; }
        else if (bytes.Length >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF) { encoding = new UnicodeEncoding(true, false, true); offset = 2; }
        string text;
        try
        {
            text = encoding.GetString(bytes, offset, bytes.Length - offset);
        }
        catch (DecoderFallbackException e)
        {
            throw Fail(MeshErrorKind.InvalidData, field, Path.GetFullPath(path),
                $"is not a text file (bytes that are not UTF-8 at offset {e.Index + offset})", fix);
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < ' ' && c is not ('\t' or '\n' or '\r') || c == '\u007f')
                throw Fail(MeshErrorKind.InvalidData, field, Path.GetFullPath(path),
                    $"is not a text file (control character 0x{(int)c:x2} at character {i})", fix);
        }
        return text;
    }

    private static MeshFederationException Fail(MeshErrorKind kind, string field, string value, string problem, string fix) =>
        new(new MeshProblem(kind, field, value, problem, fix));

    // Linux: open without blocking (a FIFO would block in open() waiting for a writer), then check the type of what
    // was opened (statx on the descriptor, so nothing can be swapped in between).

    private const int ORdOnly = 0;
    private const int ONonBlock = 0x800;
    private const int ONoCtty = 0x100;
    private const int OCloExec = 0x80000;
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const int SIfMt = 0xF000;

    private enum FileKind
    {
        Regular,
        Directory,
        Fifo,
        Socket,
        CharDevice,
        BlockDevice,
        Link,
        Unknown,
    }

    private static SafeFileHandle OpenLinux(string path, string field, string fix)
    {
        var fd = Native.open(path, ORdOnly | ONonBlock | ONoCtty | OCloExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                2 => Fail(MeshErrorKind.NotFound, field, path, "cannot be read: it does not exist", fix),
                13 or 1 => new UnauthorizedAccessException(path),
                21 => Fail(MeshErrorKind.InvalidArgument, field, path, "is a folder, not a file", fix),
                _ => Fail(MeshErrorKind.Io, field, path, $"cannot be opened (error {errno})", fix),
            };
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        var kind = LinuxFileType(handle);
        if (kind != FileKind.Regular)
        {
            handle.Dispose();
            throw Fail(MeshErrorKind.InvalidArgument, field, path, kind switch
            {
                FileKind.Directory => "is a folder, not a file",
                FileKind.Fifo => "is a FIFO (named pipe), not a regular file; reading it would wait for a writer",
                FileKind.Socket => "is a socket, not a regular file",
                FileKind.CharDevice or FileKind.BlockDevice => "is a device, not a regular file",
                _ => "is not a regular file",
            }, "save the content to a regular file and give that file's path");
        }
        return handle;
    }

    private static FileKind LinuxFileType(SafeFileHandle handle)
    {
        var buffer = new byte[256];
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Native.statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxType, buffer) != 0) return FileKind.Unknown;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
        return Kind(BitConverter.ToUInt16(buffer, 28));
    }

    private static FileKind LinuxFileType(string path)
    {
        var buffer = new byte[256];
        if (Native.statx(AtFdCwd, path, 0, StatxType, buffer) != 0) return FileKind.Unknown;
        return Kind(BitConverter.ToUInt16(buffer, 28));
    }

    private static FileKind Kind(int mode) => (mode & SIfMt) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0x1000 => FileKind.Fifo,
        0xC000 => FileKind.Socket,
        0x2000 => FileKind.CharDevice,
        0x6000 => FileKind.BlockDevice,
        0xA000 => FileKind.Link,
        _ => FileKind.Unknown,
    };

    private static class Native
    {
        [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int open(string path, int flags);

        // struct statx: stx_mode (u16) is at byte 28 on every architecture.
        [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buffer);
    }
}
