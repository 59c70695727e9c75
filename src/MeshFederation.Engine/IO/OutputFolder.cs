using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.IO;

/// <summary>How OutputFolder.Write treats a folder and what it must never touch.</summary>
public sealed record OutputFolderOptions
{
    /// <summary>Relative paths (with '/') written 0600: files holding private keys or tokens.</summary>
    public IReadOnlySet<string> PrivateFiles { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Keep the files meshfed wrote earlier that this write does not replace (a CA folder gains intermediates). By
    /// default the folder ends up holding exactly the new set, so files of clusters no longer rendered disappear.
    /// </summary>
    public bool KeepExisting { get; init; }

    /// <summary>
    /// Allow overwriting files meshfed did not write, or changed since (an explicit -Force / --force of the caller).
    /// Inputs are never overwritten, whatever this says.
    /// </summary>
    public bool ReplaceForeign { get; init; }

    /// <summary>Files this run reads (the topology, PEM files): never overwritten and never removed.</summary>
    public IReadOnlyCollection<string> Inputs { get; init; } = Array.Empty<string>();

    /// <summary>The caller's current directory: a folder containing it is never replaced.</summary>
    public string? CurrentDirectory { get; init; }

    /// <summary>What names the folder in messages: "--out", "-Path", "-OutputPath".</summary>
    public string Field { get; init; } = "--out";

    /// <summary>Stops the write before the switch; the folder then keeps the old set.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Verbose messages (what was cleaned up, kept, removed).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>What a write did.</summary>
public sealed record OutputFolderResult(string Directory, IReadOnlyList<string> Written, IReadOnlyList<string> Removed, IReadOnlyList<string> Kept);

/// <summary>Where a streamed set's files are produced, one at a time (see <see cref="OutputFolder"/>).</summary>
public interface IOutputSink
{
    /// <summary>Produces one file of the set (a path listed up front, with '/'); <paramref name="privateFile"/> makes it 0600.</summary>
    void Write(string relative, bool privateFile, Action<TextWriter> write);
}

/// <summary>
/// Writes a set of files into a folder all or nothing. The new set is written into a sibling temporary folder, which
/// then takes the folder's place in one step (Linux: renameat2 RENAME_EXCHANGE; elsewhere two renames, repaired by the
/// next run if interrupted between them), so an interrupted run (kill -9, Ctrl+C, SIGTERM) leaves the old set or the
/// new set, never a mix. A record of what meshfed wrote (<see cref="RecordFileName"/>, sha256sum format) proves which
/// files are its own: files it did not write, or that were changed since, are never overwritten or removed; they are
/// carried into the new folder unchanged (hard links where possible). Leftover temporary folders and files of earlier
/// runs are removed by the next run once proven to hold nothing that is not also in the folder.
/// </summary>
public static partial class OutputFolder
{
    /// <summary>The record of the files meshfed wrote into a folder (sha256sum format: "hash  relative/path").</summary>
    public const string RecordFileName = ".meshfed-written";

    private const string NewMarker = ".meshfed-new-";
    private const string OldMarker = ".meshfed-old-";
    private const int MaxListed = 8;

    /// <summary>Milliseconds to wait after each file (testing aid: lets interrupt tests land mid-write). MESHFED_TEST_WRITE_DELAY_MS.</summary>
    private static int TestDelayMs =>
        int.TryParse(Environment.GetEnvironmentVariable("MESHFED_TEST_WRITE_DELAY_MS"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) ? Math.Min(ms, 60_000) : 0;

    /// <summary>Checks that the set can be written (nothing foreign overwritten, no input touched) without writing anything.</summary>
    public static void Check(string directory, IReadOnlyDictionary<string, string> files, OutputFolderOptions? options = null)
    {
        options ??= new OutputFolderOptions();
        var root = Root(directory, options);
        var targets = Targets(root, files.ToDictionary(f => f.Key, f => (string?)f.Value, StringComparer.Ordinal), options);
        var existing = Scan(root, options, cleanLegacy: false);
        CheckCollisions(root, targets, existing, options, null);
    }

    /// <summary>
    /// Checks a streamed set (see <see cref="Write(string, IReadOnlyCollection{string}, Action{IOutputSink}, OutputFolderOptions?)"/>)
    /// without writing anything: <paramref name="produce"/> runs into a sink that only counts and hashes. Returns the
    /// size in bytes of each file produced.
    /// </summary>
    public static IReadOnlyDictionary<string, long> Check(string directory, IReadOnlyCollection<string> paths, Action<IOutputSink> produce, OutputFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(produce);
        options ??= new OutputFolderOptions();
        var root = Root(directory, options);
        var targets = Targets(root, paths.ToDictionary(p => p, _ => (string?)null, StringComparer.Ordinal), options);
        var existing = Scan(root, options, cleanLegacy: false);
        var deferred = new Dictionary<string, List<MeshProblem>>(StringComparer.Ordinal);
        CheckCollisions(root, targets, existing, options, deferred);
        var sink = new Sink(targets, null, options);
        produce(sink);
        ThrowUnlessIdentical(deferred, sink, existing, options);
        return sink.Produced.ToDictionary(f => f.Key, f => f.Value.Length, StringComparer.Ordinal);
    }

    /// <summary>What the folder would hold after a write: the paths written, and those already holding the same content.</summary>
    private static List<Target> ToWrite(List<Target> targets, IReadOnlySet<string> unchanged) => targets.Where(t => !unchanged.Contains(t.Relative)).ToList();

    /// <summary>Writes <paramref name="files"/> (relative path with '/' to content) into <paramref name="directory"/>, all or nothing.</summary>
    public static OutputFolderResult Write(string directory, IReadOnlyDictionary<string, string> files, OutputFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        return WriteCore(directory, files.ToDictionary(f => f.Key, f => (string?)f.Value, StringComparer.Ordinal), null, options ?? new OutputFolderOptions());
    }

    /// <summary>
    /// Writes a set whose contents are produced while writing, all or nothing, with the same guarantees as the other
    /// overload: <paramref name="paths"/> are every file the set may hold (checked before anything is produced: nothing
    /// foreign overwritten, no input touched); <paramref name="produce"/> then writes each file once through the sink
    /// into the new folder, so a large render never holds every document at once. A file listed but not produced is not
    /// part of the set. Whatever <paramref name="produce"/> throws leaves the folder as it was. A file that exists and was
    /// not written by meshfed is accepted only when what is produced for it is identical.
    /// </summary>
    public static OutputFolderResult Write(string directory, IReadOnlyCollection<string> paths, Action<IOutputSink> produce, OutputFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(produce);
        return WriteCore(directory, paths.ToDictionary(p => p, _ => (string?)null, StringComparer.Ordinal), produce, options ?? new OutputFolderOptions());
    }

    private static OutputFolderResult WriteCore(string directory, IReadOnlyDictionary<string, string?> files, Action<IOutputSink>? produce, OutputFolderOptions options)
    {
        var root = Root(directory, options);
        var targets = Targets(root, files, options);
        var parent = Path.GetDirectoryName(root)!;
        var name = Path.GetFileName(root);
        try
        {
            Directory.CreateDirectory(parent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(options, root, $"cannot be created: the folder above it cannot be created ({Reason(e)})", "check the path and its permissions");
        }
        using var gate = Lock(parent, name, root, options);
        Recover(parent, name, root, options);
        var existing = Scan(root, options, cleanLegacy: true);
        var deferred = new Dictionary<string, List<MeshProblem>>(StringComparer.Ordinal);
        var unchanged = CheckCollisions(root, targets, existing, options, deferred);
        var toWrite = ToWrite(targets, unchanged);
        var writing = toWrite.Select(t => t.Relative).ToHashSet(StringComparer.Ordinal);

        var temp = Path.Combine(parent, $".{name}{NewMarker}{Guid.NewGuid():N}");
        var written = new List<string>();
        var removed = new List<string>();
        var kept = new List<string>();
        try
        {
            try
            {
                Directory.CreateDirectory(temp);
                if (existing.Exists && !OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, File.GetUnixFileMode(root));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Fail(options, root, $"cannot be written: meshfed writes the new set into a folder beside it, in {parent}, which failed ({Reason(e)})",
                    $"make {parent} writable for this user, or choose another output folder");
            }
            var record = new SortedDictionary<string, string>(StringComparer.Ordinal);
            // Streamed files are recorded before they exist (a placeholder hash), so a killed run's folder stays provable.
            foreach (var t in toWrite) record[t.Relative] = t.Content is null ? Placeholder : Hash(t.Content);
            var carried = new List<Entry>();
            foreach (var e in existing.Entries.Values.Where(e => e.Kind != EntryKind.Directory || IsEmptyDirectory(e.Full)))
            {
                if (writing.Contains(e.Relative)) continue;
                if (e.Kind == EntryKind.Directory) { Directory.CreateDirectory(Path.Combine(temp, e.Relative)); continue; }
                if (unchanged.Contains(e.Relative)) { options.Log?.Invoke($"Kept {e.Full}: it already holds what meshfed would write."); carried.Add(e); if (e.Ours && !e.Changed) record[e.Relative] = e.Hash!; continue; }
                var isInput = options.Inputs.Any(i => SamePath(i, e.Full));
                if (e.Ours && !e.Changed && !options.KeepExisting && !isInput) { removed.Add(Path.Combine(root, e.Relative)); continue; }
                if (e.Ours && !e.Changed) record[e.Relative] = e.Hash!;
                else if (e.Ours && e.Changed) options.Log?.Invoke($"Kept {e.Full}: it was changed since meshfed wrote it, so it is no longer replaced or removed.");
                carried.Add(e);
            }
            // The record first: a run killed from here on leaves a folder whose every file is accounted for.
            WriteFile(Path.Combine(temp, RecordFileName), RecordText(record), privateFile: false);
            foreach (var t in toWrite.Where(t => t.Content is not null))
            {
                options.CancellationToken.ThrowIfCancellationRequested();
                var path = Path.Combine(temp, t.Relative.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                WriteFile(path, t.Content!, t.Private);
                if (TestDelayMs > 0) Thread.Sleep(TestDelayMs);
            }
            if (produce is not null)
            {
                var sink = new Sink(toWrite, temp, options);
                produce(sink);
                ThrowUnlessIdentical(deferred, sink, existing, options);
                foreach (var t in toWrite.Where(t => t.Content is null))
                {
                    if (sink.Produced.TryGetValue(t.Relative, out var made))
                    {
                        record[t.Relative] = made.Hash;
                        continue;
                    }
                    // Listed but not produced: not part of the set; what was there is treated as any file outside it.
                    record.Remove(t.Relative);
                    writing.Remove(t.Relative);
                    if (existing.Entries.TryGetValue(t.Relative, out var e) && e.Kind == EntryKind.File)
                    {
                        if (e.Ours && !e.Changed && !options.KeepExisting) removed.Add(e.Full);
                        else
                        {
                            if (e.Ours && !e.Changed) record[e.Relative] = e.Hash!;
                            carried.Add(e);
                        }
                    }
                }
                File.Delete(Path.Combine(temp, RecordFileName));
                WriteFile(Path.Combine(temp, RecordFileName), RecordText(record), privateFile: false);
                // Produced exactly as what the folder already holds: kept, not written (as the other overload reports it).
                foreach (var (rel, made) in sink.Produced)
                    if (existing.Entries.TryGetValue(rel, out var e) && e.Kind == EntryKind.File && (e.Hash ?? HashFile(e.Full)) == made.Hash)
                    {
                        writing.Remove(rel);
                        kept.Add(e.Full);
                    }
            }
            foreach (var e in carried)
            {
                options.CancellationToken.ThrowIfCancellationRequested();
                Carry(e, Path.Combine(temp, e.Relative));
                kept.Add(e.Full);
            }
            options.CancellationToken.ThrowIfCancellationRequested();
            Switch(temp, root, parent, name, existing.Exists, options);
            written.AddRange(toWrite.Where(t => writing.Contains(t.Relative)).Select(t => Path.Combine(root, t.Relative.Replace('/', Path.DirectorySeparatorChar))));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp, options);
            throw Fail(options, root, $"cannot be written ({Reason(e).Replace(temp, root, StringComparison.Ordinal)}); nothing was changed",
                "check the free space and the permissions of the folder and the folder above it");
        }
        catch
        {
            TryDelete(temp, options);
            throw;
        }
        foreach (var r in removed) options.Log?.Invoke($"Removed {r}: meshfed wrote it earlier and this set no longer has it.");
        return new OutputFolderResult(root, written, removed, kept);
    }

    /// <summary>Writes one file (graph output) with the same guarantees: atomic, never over a file meshfed did not write or an input.</summary>
    public static string WriteFile(string path, string content, OutputFolderOptions? options = null)
    {
        options ??= new OutputFolderOptions();
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Fail(options, path, "is not a valid path", "give a file path such as federation.svg");
        }
        var dir = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (name.Length == 0 || Directory.Exists(full)) throw Fail(options, full, "is a folder; give a file path", "give a file path such as federation.svg");
        if (options.Inputs.Any(i => SamePath(i, full)))
            throw Fail(options, full, "is an input of this run (the topology); it is never overwritten", "give another file name for the output", MeshErrorKind.Conflict);
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(options, full, $"cannot be written ({Reason(e)})", "check the path and its permissions");
        }
        CleanLegacyTemps(dir, name, options);
        CleanLegacyTemps(dir, RecordFileName, options);
        var record = ReadRecord(dir);
        var hash = File.Exists(full) || IsLink(full) ? (InputFile.IsRegularFile(full) && !IsLink(full) ? HashFile(full) : null) : null;
        if ((File.Exists(full) || IsLink(full)) && !(record.TryGetValue(name, out var h) && h == hash))
            throw Fail(options, full, record.ContainsKey(name) ? "was changed since meshfed wrote it; it is never overwritten" : "exists and was not written by meshfed; it is never overwritten",
                "remove it or give another file name", MeshErrorKind.Conflict);
        try
        {
            var temp = Path.Combine(dir, $".{name}.{Guid.NewGuid():N}.tmp");
            try
            {
                WriteFile(temp, content, privateFile: false);
                File.Move(temp, full, overwrite: true);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            record[name] = Hash(content);
            var recordTemp = Path.Combine(dir, $".{RecordFileName}.{Guid.NewGuid():N}.tmp");
            WriteFile(recordTemp, RecordText(record), privateFile: false);
            File.Move(recordTemp, Path.Combine(dir, RecordFileName), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(options, full, $"cannot be written ({Reason(e)})", "check the folder's permissions and free space");
        }
        return full;
    }

    // ---- the parts -------------------------------------------------------------------------------------------------

    private sealed record Target(string Relative, string? Content, bool Private);

    private const string Placeholder = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>Where a streamed set is produced: into the new folder (or, for a check, nowhere), hashed and counted.</summary>
    private sealed class Sink : IOutputSink
    {
        private readonly Dictionary<string, Target> _declared;
        private readonly string? _temp;
        private readonly OutputFolderOptions _options;

        public Sink(IEnumerable<Target> declared, string? temp, OutputFolderOptions options)
        {
            _declared = declared.Where(t => t.Content is null).ToDictionary(t => t.Relative, StringComparer.Ordinal);
            _temp = temp;
            _options = options;
        }

        public Dictionary<string, (string Hash, long Length)> Produced { get; } = new(StringComparer.Ordinal);

        public void Write(string relative, bool privateFile, Action<TextWriter> write)
        {
            ArgumentNullException.ThrowIfNull(write);
            var rel = (relative ?? "").Replace('\\', '/');
            if (!_declared.TryGetValue(rel, out var target) || Produced.ContainsKey(rel))
                throw new InvalidOperationException($"{rel} was not listed among the set's files, or is produced twice");
            _options.CancellationToken.ThrowIfCancellationRequested();
            Stream stream = Stream.Null;
            if (_temp is not null)
            {
                var path = Path.Combine(_temp, rel.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
                if ((privateFile || target.Private) && !OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                stream = new FileStream(path, fileOptions);
            }
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length;
            using (var hashing = new HashingStream(stream, hash))
            {
                using (var writer = new StreamWriter(hashing, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" })
                    write(writer);
                length = hashing.Length;
                if (stream is FileStream f) f.Flush(flushToDisk: true);
            }
            stream.Dispose();
            Produced[rel] = (Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), length);
            if (TestDelayMs > 0) Thread.Sleep(TestDelayMs);
        }
    }

    /// <summary>Passes writes through to a stream, hashing and counting them.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            _length += buffer.Length;
            inner.Write(buffer);
        }
    }

    /// <summary>Streamed files over a file meshfed did not write (or that changed since) pass only when produced identical.</summary>
    private static void ThrowUnlessIdentical(Dictionary<string, List<MeshProblem>> deferred, Sink sink, Existing existing, OutputFolderOptions options)
    {
        var problems = new List<MeshProblem>();
        foreach (var (rel, list) in deferred)
        {
            if (!sink.Produced.TryGetValue(rel, out var made)) continue; // not produced: nothing overwrites it
            if (existing.Entries.TryGetValue(rel, out var e) && e.Kind == EntryKind.File && HashFile(e.Full) == made.Hash) continue;
            problems.AddRange(list);
        }
        if (problems.Count > 0)
        {
            if (problems.Count > MaxListed)
                problems = problems.Take(MaxListed).Append(new MeshProblem(MeshErrorKind.Conflict, options.Field, existing.Entries.Values.First().Full,
                    $"and {problems.Count - MaxListed} more file(s) are in the way", "choose a new or empty output folder")).ToList();
            throw new MeshFederationException(problems);
        }
    }

    private enum EntryKind
    {
        File,
        Directory,
        Link,
        Special,
    }

    private sealed record Entry(string Relative, string Full, EntryKind Kind, bool Ours, bool Changed, string? Hash);

    private sealed record Existing(bool Exists, Dictionary<string, Entry> Entries);

    private static string Root(string directory, OutputFolderOptions options)
    {
        string root;
        try
        {
            root = Path.GetFullPath(directory);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Fail(options, directory, "is not a valid path", "give a folder path such as rendered");
        }
        root = Path.TrimEndingDirectorySeparator(root);
        if (Path.GetDirectoryName(root) is null || Path.GetFileName(root).Length == 0)
            throw Fail(options, root, "is the root of a file system; meshfed replaces its output folder as a whole", "give a folder below it, e.g. /tmp/rendered");
        if (IsLink(root))
        {
            try
            {
                // Write where the link points: replacing the link itself would leave its target stale.
                root = Path.TrimEndingDirectorySeparator(new DirectoryInfo(root).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? root);
            }
            catch (IOException)
            {
                throw Fail(options, root, "is a link that cannot be resolved", "give the folder itself");
            }
        }
        if (File.Exists(root)) throw Fail(options, root, "is a file; the output needs a folder", "give a folder path (it is created when missing)");
        return root;
    }

    private static List<Target> Targets(string root, IReadOnlyDictionary<string, string?> files, OutputFolderOptions options)
    {
        var result = new List<Target>();
        foreach (var (relative, content) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var rel = relative.Replace('\\', '/');
            var parts = rel.Split('/');
            if (rel.Length == 0 || Path.IsPathRooted(rel) || parts.Any(p => p is "" or "." or "..") || rel == RecordFileName)
                throw Fail(options, Path.Combine(root, relative), "is not a path inside the output folder", "report this as a bug");
            result.Add(new Target(rel, content, options.PrivateFiles.Contains(rel) || options.PrivateFiles.Contains(relative)));
        }
        return result;
    }

    /// <summary>Reads the folder: every entry, and whether meshfed wrote it (listed in the record with the same hash).</summary>
    private static Existing Scan(string root, OutputFolderOptions options, bool cleanLegacy)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        if (!Directory.Exists(root)) return new Existing(false, entries);
        var record = ReadRecord(root);
        var stack = new Stack<string>();
        stack.Push(root);
        try
        {
            while (stack.Count > 0)
            {
                var dir = stack.Pop();
                foreach (var path in Directory.EnumerateFileSystemEntries(dir))
                {
                    var rel = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
                    if (rel == RecordFileName) continue;
                    if (IsLink(path)) { entries[rel] = new Entry(rel, path, EntryKind.Link, false, false, null); continue; }
                    if (Directory.Exists(path))
                    {
                        entries[rel] = new Entry(rel, path, EntryKind.Directory, false, false, null);
                        stack.Push(path);
                        continue;
                    }
                    if (LegacyTemp().IsMatch(Path.GetFileName(path)) && InputFile.IsRegularFile(path))
                    {
                        // A temporary file of an earlier meshfed version, left by an interrupted run.
                        if (cleanLegacy) TryDeleteFile(path, options);
                        continue;
                    }
                    if (!InputFile.IsRegularFile(path)) { entries[rel] = new Entry(rel, path, EntryKind.Special, false, false, null); continue; }
                    if (record.TryGetValue(rel, out var expected))
                    {
                        var actual = HashFile(path);
                        entries[rel] = new Entry(rel, path, EntryKind.File, true, actual != expected, actual);
                    }
                    else entries[rel] = new Entry(rel, path, EntryKind.File, false, false, null);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(options, root, $"cannot be read ({Reason(e)})", "check the folder's permissions");
        }
        return new Existing(true, entries);
    }

    /// <summary>
    /// What is in the way of the set. For streamed targets (no content yet) a file meshfed did not write, or that changed
    /// since, is put in <paramref name="deferred"/> instead: it passes if what is produced for it is identical.
    /// </summary>
    private static HashSet<string> CheckCollisions(string root, List<Target> targets, Existing existing, OutputFolderOptions options, Dictionary<string, List<MeshProblem>>? deferred)
    {
        var unchanged = new HashSet<string>(StringComparer.Ordinal);
        var problems = new ProblemList();
        void Add(string path, string problem, string fix, MeshErrorKind kind = MeshErrorKind.Conflict) =>
            problems.Add(new MeshProblem(kind, options.Field, path, problem, fix));
        foreach (var t in targets)
        {
            var full = Path.Combine(root, t.Relative.Replace('/', Path.DirectorySeparatorChar));
            if (t.Content is not null && existing.Entries.TryGetValue(t.Relative, out var same) && same.Kind == EntryKind.File
                && new FileInfo(same.Full).Length == Encoding.UTF8.GetByteCount(t.Content) && (same.Hash ?? HashFile(same.Full)) == Hash(t.Content))
            {
                // Already holds exactly what would be written (an input root-cert.pem, say): nothing to overwrite.
                unchanged.Add(t.Relative);
                continue;
            }
            if (options.Inputs.Any(i => SamePath(i, full)))
            {
                Add(full, "is an input of this run (the topology or a file it names); meshfed never overwrites its input",
                    "write the output to another folder, e.g. --out rendered");
                continue;
            }
            var parts = t.Relative.Split('/');
            for (var i = 1; i < parts.Length; i++)
            {
                var prefix = string.Join('/', parts.Take(i));
                if (existing.Entries.TryGetValue(prefix, out var p) && p.Kind != EntryKind.Directory)
                    Add(Path.Combine(root, prefix), $"is a file where meshfed writes the folder {prefix}/", "move it away, or choose another output folder");
            }
            if (!existing.Entries.TryGetValue(t.Relative, out var e)) continue;
            if (e.Kind == EntryKind.Directory) Add(e.Full, "is a folder where meshfed writes a file", "remove the folder, or choose another output folder");
            else if (e.Kind == EntryKind.Special) Add(e.Full, "is a FIFO, socket or device where meshfed writes a file", "remove it, or choose another output folder");
            else if (t.Content is null && deferred is not null && e.Kind == EntryKind.File && (!e.Ours || e.Changed) && !options.ReplaceForeign)
                deferred[t.Relative] = new List<MeshProblem>
                {
                    new(MeshErrorKind.Conflict, options.Field, e.Full, !e.Ours ? "exists and was not written by meshfed; it is never overwritten" : "was changed since meshfed wrote it; it is never overwritten",
                        !e.Ours ? "move it away, or choose another (new or empty) output folder" : "move your changes into the topology (or the pipeline) and delete the file, or choose another output folder"),
                };
            else if (!e.Ours && !options.ReplaceForeign) Add(e.Full, "exists and was not written by meshfed; it is never overwritten",
                "move it away, or choose another (new or empty) output folder");
            else if (e.Changed && !options.ReplaceForeign) Add(e.Full, "was changed since meshfed wrote it; it is never overwritten",
                "move your changes into the topology (or the pipeline) and delete the file, or choose another output folder");
        }
        foreach (var e in existing.Entries.Values.Where(e => e.Kind == EntryKind.Special))
            if (!problems.Items.Any(p => p.Value == e.Full))
                Add(e.Full, "is a FIFO, socket or device; meshfed cannot carry it into the new folder", "remove it, or choose another output folder");
        if (existing.Exists && options.CurrentDirectory is { } cwd && Inside(Path.GetFullPath(cwd), root))
            Add(root, "is the current directory (or contains it); meshfed replaces its output folder as a whole",
                "write to a sub-folder, e.g. --out rendered", MeshErrorKind.InvalidArgument);
        if (problems.Any)
        {
            var items = problems.Items;
            if (items.Count > MaxListed)
                items = items.Take(MaxListed).Append(new MeshProblem(MeshErrorKind.Conflict, options.Field, root,
                    $"and {items.Count - MaxListed} more file(s) are in the way", "choose a new or empty output folder")).ToList();
            throw new MeshFederationException(items);
        }
        return unchanged;
    }

    private static bool IsEmptyDirectory(string path)
    {
        try
        {
            return !Directory.EnumerateFileSystemEntries(path).Any();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Repairs what an interrupted run left: restores the old set when the folder is missing, removes temporary folders.</summary>
    private static void Recover(string parent, string name, string root, OutputFolderOptions options)
    {
        List<string> leftovers;
        try
        {
            leftovers = Directory.EnumerateDirectories(parent, $".{name}.meshfed-*")
                .Where(d => Leftover().IsMatch(Path.GetFileName(d)[(name.Length + 1)..])).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        if (!Directory.Exists(root))
        {
            // Interrupted between the two renames of a switch without RENAME_EXCHANGE: the previous set is the old one.
            var old = leftovers.Where(d => d.Contains(OldMarker, StringComparison.Ordinal)).OrderByDescending(Directory.GetLastWriteTimeUtc).FirstOrDefault();
            if (old is not null)
            {
                try
                {
                    Directory.Move(old, root);
                    leftovers.Remove(old);
                    options.Log?.Invoke($"Restored {root} from {old}, which an interrupted run left.");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    options.Log?.Invoke($"Could not restore {root} from {old}: {Reason(e)}");
                }
            }
        }
        foreach (var d in leftovers)
        {
            if (Proven(d, root)) TryDelete(d, options, announce: true);
            else options.Log?.Invoke($"Left {d} in place: it holds files that are neither recorded as meshfed's nor in {root}.");
        }
    }

    /// <summary>A leftover folder may go when each of its files is recorded in it as meshfed's, or also sits, identical, in the folder.</summary>
    private static bool Proven(string leftover, string root)
    {
        try
        {
            var record = ReadRecord(leftover);
            foreach (var path in Directory.EnumerateFileSystemEntries(leftover, "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(leftover, path).Replace(Path.DirectorySeparatorChar, '/');
                if (rel == RecordFileName || Directory.Exists(path) && !IsLink(path)) continue;
                if (IsLink(path))
                {
                    var twin = Path.Combine(root, rel);
                    if (IsLink(twin) && new FileInfo(twin).LinkTarget == new FileInfo(path).LinkTarget) continue;
                    return false;
                }
                if (!InputFile.IsRegularFile(path)) return false;
                if (record.ContainsKey(rel)) continue;
                var same = Path.Combine(root, rel.Replace('/', Path.DirectorySeparatorChar));
                if (InputFile.IsRegularFile(same) && new FileInfo(same).Length == new FileInfo(path).Length && HashFile(same) == HashFile(path)) continue;
                return false;
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void Switch(string temp, string root, string parent, string name, bool exists, OutputFolderOptions options)
    {
        if (!exists)
        {
            try
            {
                Directory.Move(temp, root);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Fail(options, root, $"cannot be created ({Reason(e)})", "check that nothing else creates it at the same time, and the permissions");
            }
        }
        if (OperatingSystem.IsLinux() && Exchange(temp, root))
        {
            // temp now holds the previous set: remove it (its record last, so an interrupted removal stays provable).
            TryDelete(temp, options);
            return;
        }
        var old = Path.Combine(parent, $".{name}{OldMarker}{Guid.NewGuid():N}");
        try
        {
            Directory.Move(root, old);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(options, root, $"cannot be replaced as a whole ({Reason(e)}); a mount point or a folder in use cannot be",
                "write to a sub-folder of it, e.g. --out rendered");
        }
        try
        {
            Directory.Move(temp, root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { Directory.Move(old, root); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw Fail(options, root, $"cannot be replaced ({Reason(e)})", "check the permissions of the folder above it");
        }
        TryDelete(old, options);
    }

    private static bool Exchange(string a, string b)
    {
        try
        {
            return Native.renameat2(-100, a, -100, b, 2) == 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    private static void Carry(Entry e, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        if (e.Kind == EntryKind.Link)
        {
            var target = new FileInfo(e.Full).LinkTarget!;
            if (Directory.Exists(e.Full)) Directory.CreateSymbolicLink(destination, target);
            else File.CreateSymbolicLink(destination, target);
            return;
        }
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                if (Native.link(e.Full, destination) == 0) return;
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                // copy below
            }
        }
        File.Copy(e.Full, destination);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(destination, File.GetUnixFileMode(e.Full));
    }

    private static IDisposable Lock(string parent, string name, string root, OutputFolderOptions options)
    {
        try
        {
            return new FileStream(LockPath(parent, name), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (UnauthorizedAccessException e)
        {
            throw Fail(options, root, $"cannot be written: meshfed needs to write beside it, in {parent} ({Reason(e)})",
                $"make {parent} writable for this user, or choose another output folder");
        }
        catch (IOException)
        {
            throw Fail(options, root, "is being written by another meshfed run right now", "wait for it to finish, then run again");
        }
    }

    private static string LockPath(string parent, string name) => Path.Combine(parent, $".{name}.meshfed-lock");

    // ---- records, hashes, small helpers ----------------------------------------------------------------------------

    private static Dictionary<string, string> ReadRecord(string dir)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = Path.Combine(dir, RecordFileName);
        if (!File.Exists(path) || !InputFile.IsRegularFile(path) || IsLink(path)) return result;
        string text;
        try
        {
            text = InputFile.ReadText(path, "record", 4L * 1024 * 1024, "remove the record file");
        }
        catch (MeshFederationException)
        {
            return result;
        }
        foreach (var line in text.Split('\n'))
        {
            var m = RecordLine().Match(line.TrimEnd('\r'));
            if (m.Success) result[m.Groups[2].Value] = m.Groups[1].Value;
        }
        return result;
    }

    private static string RecordText(IReadOnlyDictionary<string, string> record)
    {
        var sb = new StringBuilder();
        sb.Append("# Files MeshFederation wrote into this folder (sha256sum -c format). They are replaced or removed by the next run;\n");
        sb.Append("# files not listed here, or changed since, are never touched. Do not edit.\n");
        foreach (var (rel, hash) in record.OrderBy(r => r.Key, StringComparer.Ordinal)) sb.Append(hash).Append("  ").Append(rel).Append('\n');
        return sb.ToString();
    }

    private static string Hash(string content) => Convert.ToHexString(SHA256.HashData(new UTF8Encoding(false).GetBytes(content))).ToLowerInvariant();

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    private static void WriteFile(string path, string content, bool privateFile)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (privateFile && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        var bytes = new UTF8Encoding(false).GetBytes(content);
        stream.Write(bytes, 0, bytes.Length);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Deletes a folder tree: files first, the record after them, folders last, so an interrupted removal stays provable.</summary>
    private static void TryDelete(string dir, OutputFolderOptions options, bool announce = false)
    {
        if (!Directory.Exists(dir)) return;
        try
        {
            var all = Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).ToList();
            foreach (var f in all.Where(f => IsLink(f) || !Directory.Exists(f)).Where(f => Path.GetFileName(f) != RecordFileName)) File.Delete(f);
            foreach (var f in all.Where(f => Path.GetFileName(f) == RecordFileName && !Directory.Exists(f))) File.Delete(f);
            Directory.Delete(dir, recursive: true);
            if (announce) options.Log?.Invoke($"Removed {dir}, left by an interrupted run.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            options.Log?.Invoke($"Could not remove {dir}: {Reason(e)}");
        }
    }

    private static void TryDeleteFile(string path, OutputFolderOptions options)
    {
        try
        {
            File.Delete(path);
            options.Log?.Invoke($"Removed {path}, left by an interrupted run.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            options.Log?.Invoke($"Could not remove {path}: {Reason(e)}");
        }
    }

    /// <summary>Removes the temporary files an earlier version's interrupted single-file writes left beside <paramref name="name"/>.</summary>
    private static void CleanLegacyTemps(string dir, string name, OutputFolderOptions options)
    {
        foreach (var f in SafeEnumerateFiles(dir, $".{name}.*.tmp"))
            if (LegacyTemp().IsMatch(Path.GetFileName(f)) && InputFile.IsRegularFile(f)) TryDeleteFile(f, options);
    }

    private static IEnumerable<string> SafeEnumerateFiles(string dir, string pattern)
    {
        try
        {
            return Directory.EnumerateFiles(dir, pattern).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)),
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static bool Inside(string path, string folder) =>
        SamePath(path, folder) || Path.GetFullPath(path).StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };

    private static MeshFederationException Fail(OutputFolderOptions options, string path, string problem, string fix, MeshErrorKind kind = MeshErrorKind.Io) =>
        new(new MeshProblem(kind, options.Field, path, problem, fix));

    [GeneratedRegex(@"^([0-9a-f]{64})  (\S.*)$")]
    private static partial Regex RecordLine();

    [GeneratedRegex(@"^\..+\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex LegacyTemp();

    [GeneratedRegex(@"^\.meshfed-(new|old)-[0-9a-f]{32}$")]
    private static partial Regex Leftover();

    private static class Native
    {
        [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

        [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int link(string oldpath, string newpath);
    }
}
