using System.Collections.Concurrent;
using System.Management.Automation;
using MeshFederation.Engine.Diagnostics;

namespace MeshFederation.Infrastructure;

/// <summary>
/// The engine's log for a cmdlet: messages and progress from any thread are queued and written on the pipeline
/// thread (PowerShell allows Write* only there) while the engine's task runs.
/// </summary>
public sealed class CmdletLog : IMeshLog, IDisposable
{
    private BlockingCollection<Action<Cmdlet>> _queue = new();
    private readonly HashSet<int> _open = new();

    public void Verbose(string message) => Post(c => c.WriteVerbose(message));

    public void Debug(string message) => Post(c => c.WriteDebug(message));

    public void Warning(string message) => Post(c => c.WriteWarning(message));

    public void Progress(MeshProgress progress) => Post(c =>
    {
        var record = new ProgressRecord(progress.ActivityId, progress.Activity, string.IsNullOrEmpty(progress.Status) ? "..." : progress.Status)
        {
            ParentActivityId = progress.ParentActivityId ?? -1,
            PercentComplete = Math.Clamp(progress.PercentComplete, 0, 100),
            RecordType = progress.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        if (progress.Completed) _open.Remove(progress.ActivityId);
        else _open.Add(progress.ActivityId);
        c.WriteProgress(record);
    });

    private void Post(Action<Cmdlet> action)
    {
        try
        {
            _queue.Add(action);
        }
        catch (InvalidOperationException)
        {
            // Completed: the task has finished; late messages are dropped.
        }
    }

    /// <summary>Runs <paramref name="work"/> on the thread pool and pumps its output on this (the pipeline) thread.</summary>
    public T Pump<T>(Cmdlet cmdlet, Func<Task<T>> work)
    {
        // A fresh queue per run, so one log serves a plan and then its apply.
        if (_queue.IsAddingCompleted)
        {
            _queue.Dispose();
            _queue = new BlockingCollection<Action<Cmdlet>>();
        }
        var task = Task.Run(work);
        task.ContinueWith(_ => _queue.CompleteAdding(), TaskScheduler.Default);
        foreach (var action in _queue.GetConsumingEnumerable()) action(cmdlet);
        // Every progress activity the engine opened is closed, even when it failed.
        foreach (var id in _open.ToList()) cmdlet.WriteProgress(new ProgressRecord(id, "MeshFederation", "done") { RecordType = ProgressRecordType.Completed });
        _open.Clear();
        return task.GetAwaiter().GetResult();
    }

    public void Dispose() => _queue.Dispose();
}
