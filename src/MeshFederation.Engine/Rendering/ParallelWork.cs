using System.Runtime.ExceptionServices;

namespace MeshFederation.Engine.Rendering;

/// <summary>
/// Runs independent items on several threads with the outcome of running them in order: every item runs, and the
/// exception thrown is the one of the lowest-numbered item that failed (what a loop would have stopped at). Dedicated
/// threads take the next item when free (no thread-pool start-up or wait spinning, which on a busy machine burns the
/// CPU time the other threads need); the calling thread works too.
/// </summary>
internal static class ParallelWork
{
    public static void For(int count, int parallelism, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var errors = new ExceptionDispatchInfo?[count];
        var next = -1;
        void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    body(i);
                }
                catch (Exception ex)
                {
                    errors[i] = ExceptionDispatchInfo.Capture(ex);
                }
            }
        }
        var helpers = Enumerable.Range(0, Math.Max(0, Math.Min(parallelism, count) - 1))
            .Select(_ => new Thread(Work) { IsBackground = true, Name = "meshfed work" }).ToList();
        foreach (var t in helpers) t.Start();
        Work();
        foreach (var t in helpers) t.Join();
        foreach (var e in errors) e?.Throw();
    }
}
