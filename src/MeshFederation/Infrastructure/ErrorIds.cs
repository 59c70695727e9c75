using System.Management.Automation;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Infrastructure;

/// <summary>The stable ErrorRecord ids of the module (FullyQualifiedErrorId prefix) and their categories.</summary>
public static class ErrorIds
{
    public const string InvalidArgument = "MeshFederation.InvalidArgument";
    public const string Conflict = "MeshFederation.Conflict";
    public const string InvalidTopology = "MeshFederation.InvalidTopology";
    public const string NotFound = "MeshFederation.NotFound";
    public const string FileError = "MeshFederation.FileError";
    public const string YamlBridgeUnavailable = "MeshFederation.YamlBridgeUnavailable";
    public const string ClusterError = "MeshFederation.ClusterError";
    public const string ApplyFailed = "MeshFederation.ApplyFailed";
    public const string NoInput = "MeshFederation.NoInput";
    public const string UpstreamError = "MeshFederation.UpstreamError";
    public const string Unexpected = "MeshFederation.Unexpected";

    public static string For(MeshErrorKind kind) => kind switch
    {
        MeshErrorKind.InvalidArgument => InvalidArgument,
        MeshErrorKind.Conflict => Conflict,
        MeshErrorKind.InvalidData => InvalidTopology,
        MeshErrorKind.NotFound => NotFound,
        MeshErrorKind.Io => FileError,
        _ => InvalidArgument,
    };

    public static ErrorCategory Category(MeshErrorKind kind) => kind switch
    {
        MeshErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        MeshErrorKind.Conflict => ErrorCategory.ResourceExists,
        MeshErrorKind.InvalidData => ErrorCategory.InvalidData,
        MeshErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        MeshErrorKind.Io => ErrorCategory.WriteError,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>One ErrorRecord per problem: the id from its kind, the offending input as target, the fix as recommended action.</summary>
    public static ErrorRecord Record(MeshProblem problem, object? fallbackTarget)
    {
        var record = new ErrorRecord(new MeshFederationException(problem), For(problem.Kind), Category(problem.Kind), problem.Target ?? problem.Value ?? fallbackTarget);
        record.ErrorDetails = new ErrorDetails(problem.ToString()) { RecommendedAction = problem.Fix };
        return record;
    }
}
