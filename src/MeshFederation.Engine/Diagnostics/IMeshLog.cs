namespace MeshFederation.Engine.Diagnostics;

/// <summary>One progress update: an activity (a cluster, a phase) with an optional parent.</summary>
public sealed record MeshProgress(int ActivityId, int? ParentActivityId, string Activity, string Status, int PercentComplete, bool Completed);

/// <summary>
/// How the engine talks back to its host (a cmdlet, the CLI, a test): verbose and debug text, warnings, progress.
/// Implementations may be called from any thread. The engine never passes secrets (tokens, keys) to it.
/// </summary>
public interface IMeshLog
{
    void Verbose(string message);

    void Debug(string message);

    void Warning(string message);

    void Progress(MeshProgress progress);
}

/// <summary>A log that drops everything.</summary>
public sealed class NullMeshLog : IMeshLog
{
    public static readonly NullMeshLog Instance = new();

    public void Verbose(string message) { }

    public void Debug(string message) { }

    public void Warning(string message) { }

    public void Progress(MeshProgress progress) { }
}
