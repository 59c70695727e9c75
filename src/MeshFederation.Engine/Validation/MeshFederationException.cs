using System.Text;

namespace MeshFederation.Engine.Validation;

/// <summary>What went wrong, so hosts can map it to their own categories (ErrorCategory, exit codes).</summary>
public enum MeshErrorKind
{
    /// <summary>A value given by the user is invalid (bad name, port out of range, unknown style).</summary>
    InvalidArgument,
    /// <summary>Two inputs clash (duplicate peer, alias or trust domain; a mesh federated with itself).</summary>
    Conflict,
    /// <summary>A topology or manifest file is malformed.</summary>
    InvalidData,
    /// <summary>Something referenced does not exist (peer of an export, import of a traffic split).</summary>
    NotFound,
    /// <summary>A file could not be read or written.</summary>
    Io,
}

/// <summary>One problem with the input: the field, the offending value, what is wrong and how to fix it.</summary>
public sealed record MeshProblem(MeshErrorKind Kind, string Field, string? Value, string Problem, string Fix)
{
    /// <summary>The field; built from input in places, so clipped and escaped like values (<see cref="Echo"/>).</summary>
    public string Field { get; init; } = Echo.Field(Field);

    /// <summary>The offending value as echoed: at most 200 characters, control characters escaped (<see cref="Echo"/>).</summary>
    public string? Value { get; init; } = Echo.Value(Value);

    public string Problem { get; init; } = Echo.Text(Problem);

    public string Fix { get; init; } = Echo.Text(Fix);

    /// <summary>Where the value came from (file:line:column), when it came from a file.</summary>
    public SourceLocation? Location { get; init; }

    /// <summary>The object the problem belongs to, for hosts that report a target (ErrorRecord.TargetObject).</summary>
    public object? Target { get; init; }

    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Location is not null) sb.Append(Location).Append(": ");
        sb.Append(Field);
        if (Value is not null) sb.Append(" = '").Append(Value).Append('\'');
        sb.Append(": ").Append(Problem);
        if (!Problem.EndsWith('.')) sb.Append('.');
        sb.Append(" Fix: ").Append(Fix);
        return sb.ToString();
    }
}

/// <summary>A position in a source file; lines and columns are 1-based.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>Raised for bad input. Carries every problem found, not just the first.</summary>
public sealed class MeshFederationException : Exception
{
    public MeshFederationException(IReadOnlyList<MeshProblem> problems)
        : base(Format(problems))
    {
        if (problems.Count == 0) throw new ArgumentException("at least one problem is required", nameof(problems));
        Problems = problems;
    }

    public MeshFederationException(MeshProblem problem) : this(new[] { problem }) { }

    public MeshFederationException() : this(new MeshProblem(MeshErrorKind.InvalidArgument, "input", null, "invalid input", "check the input")) { }

    public MeshFederationException(string message) : this(new MeshProblem(MeshErrorKind.InvalidArgument, "input", null, message, "check the input")) { }

    public MeshFederationException(string message, Exception inner) : base(message, inner)
    {
        Problems = new[] { new MeshProblem(MeshErrorKind.InvalidArgument, "input", null, message, "check the input") };
    }

    public IReadOnlyList<MeshProblem> Problems { get; } = Array.Empty<MeshProblem>();

    /// <summary>The kind of the first problem: what a host maps to a category.</summary>
    public MeshErrorKind Kind => Problems[0].Kind;

    private static string Format(IReadOnlyList<MeshProblem> problems) =>
        problems.Count == 1
            ? problems[0].ToString()
            : $"{problems.Count} problems:{Environment.NewLine}" + string.Join(Environment.NewLine, problems.Select(p => "  - " + p));
}

/// <summary>Collects problems and throws them together.</summary>
public sealed class ProblemList
{
    private readonly List<MeshProblem> _problems = new();

    public IReadOnlyList<MeshProblem> Items => _problems;

    public bool Any => _problems.Count > 0;

    public void Add(MeshProblem problem)
    {
        if (!_problems.Contains(problem)) _problems.Add(problem);
    }

    public void Add(MeshErrorKind kind, string field, string? value, string problem, string fix, SourceLocation? at = null, object? target = null) =>
        Add(new MeshProblem(kind, field, value, problem, fix) { Location = at, Target = target });

    public void AddRange(IEnumerable<MeshProblem> problems)
    {
        foreach (var p in problems) Add(p);
    }

    public void ThrowIfAny()
    {
        if (_problems.Count > 0) throw new MeshFederationException(_problems.ToArray());
    }
}
