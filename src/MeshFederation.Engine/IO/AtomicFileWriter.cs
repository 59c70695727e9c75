using System.Runtime.InteropServices;

namespace MeshFederation.Engine.IO;

/// <summary>Writes files so that a reader sees the old content or the new, never half of one.</summary>
public static class AtomicFileWriter
{
    /// <summary>Writes <paramref name="content"/> to a temporary file beside <paramref name="path"/> and renames it over.</summary>
    public static void Write(string path, string content, bool privateFile = false)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (privateFile && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false)))
            {
                writer.Write(content);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>
    /// Writes a set of files under <paramref name="directory"/>: every target is checked first (nothing is written if
    /// any path is unusable), then each file is replaced atomically.
    /// </summary>
    public static IReadOnlyList<string> WriteAll(string directory, IReadOnlyDictionary<string, string> files, Func<string, bool>? shouldWrite = null, IReadOnlySet<string>? privateFiles = null)
    {
        var root = Path.GetFullPath(directory);
        var targets = new List<(string Path, string Content, bool Private)>();
        foreach (var (relative, content) in files)
        {
            var target = Path.GetFullPath(Path.Combine(root, relative));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new InvalidOperationException($"refusing to write '{relative}' outside '{root}'");
            if (Directory.Exists(target))
                throw new IOException($"'{target}' is a directory; remove it or choose another output folder");
            targets.Add((target, content, privateFiles?.Contains(relative) == true));
        }
        if (File.Exists(root)) throw new IOException($"'{root}' is a file; give a folder for the manifests");
        var written = new List<string>();
        foreach (var (target, content, isPrivate) in targets)
        {
            if (shouldWrite is not null && !shouldWrite(target)) continue;
            Write(target, content, isPrivate);
            written.Add(target);
        }
        return written;
    }
}
