using System.Runtime.InteropServices;

namespace MeshFederation.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM while meshfed writes files: the write is told to stop (it then leaves the old set, or
/// finishes the switch it already started) instead of the process dying mid-write. Outside a write, the signals end
/// the process as usual: nothing is half-written then either.
/// </summary>
public sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _registrations = new();
    private int _writing;

    /// <summary>An instance that never fires: meshfed run in-process (tests) leaves the host's signals alone.</summary>
    public static Interrupts None { get; } = new();

    /// <summary>The signal that stopped the write: SIGINT (exit 130) or SIGTERM (exit 143).</summary>
    public PosixSignal? Signal { get; private set; }

    public CancellationToken Token => _cts.Token;

    /// <summary>Handles SIGINT and SIGTERM for this process.</summary>
    public static Interrupts ForProcess()
    {
        var i = new Interrupts();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            try
            {
                i._registrations.Add(PosixSignalRegistration.Create(signal, i.OnSignal));
            }
            catch (PlatformNotSupportedException)
            {
                // Windows has no SIGTERM; Ctrl+C still ends the process, and writes stay all-or-nothing.
            }
        }
        return i;
    }

    /// <summary>Marks the write phase; signals arriving inside it stop the write rather than the process.</summary>
    public IDisposable Writing()
    {
        Interlocked.Increment(ref _writing);
        return new Scope(this);
    }

    /// <summary>The exit code for an interrupted write.</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    private void OnSignal(PosixSignalContext context)
    {
        if (Volatile.Read(ref _writing) == 0) return; // not writing: the default (end the process) is safe
        context.Cancel = true;
        Signal ??= context.Signal;
        _cts.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        if (!ReferenceEquals(this, None)) _cts.Dispose();
    }

    private sealed class Scope(Interrupts owner) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Interlocked.Decrement(ref owner._writing);
        }
    }
}
