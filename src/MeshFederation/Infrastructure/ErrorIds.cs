using System.Management.Automation;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Infrastructure;

/// <summary>The stable ErrorRecord ids of the module (FullyQualifiedErrorId prefix) and their categories.</summary>
public static class ErrorIds
{
    public const string InvalidArgument = "MeshFederation.InvalidArgument";
    public const string Conflict = "MeshFederation.Conflict";
    public const string RotationNotVerified = "MeshFederation.RotationNotVerified";
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

    /// <summary>
    /// One ErrorRecord per problem: the id from its kind, the offending input as target (the object the problem names,
    /// else the input the cmdlet was working on, else the offending value), the problem as message and the fix once,
    /// as the recommended action.
    /// </summary>
    public static ErrorRecord Record(MeshProblem problem, object? fallbackTarget, bool reading = false)
    {
        var category = problem.Kind == MeshErrorKind.Io && reading ? ErrorCategory.ReadError : Category(problem.Kind);
        var record = new ErrorRecord(new MeshFederationException(problem), For(problem.Kind), category, problem.Target ?? fallbackTarget ?? problem.Value);
        record.ErrorDetails = new ErrorDetails(WithoutFix(problem)) { RecommendedAction = problem.Fix };
        return record;
    }

    /// <summary>The problem's text without its fix (the fix is the RecommendedAction, shown once).</summary>
    private static string WithoutFix(MeshProblem problem)
    {
        var text = problem.ToString();
        var at = text.LastIndexOf(" Fix: ", StringComparison.Ordinal);
        return at < 0 ? text : text[..at];
    }

    /// <summary>A Kubernetes API or connection failure of one cluster: the cluster as target, a category and what to do.</summary>
    public static ErrorRecord Cluster(Engine.Kube.KubeApiException ex, string? cluster)
    {
        cluster ??= ex.Cluster;
        var (category, action) = (int)ex.StatusCode switch
        {
            401 => (ErrorCategory.PermissionDenied, "the credentials of this context were refused: log in again (oc login, a fresh token) or fix the user entry of the kubeconfig"),
            403 => (ErrorCategory.PermissionDenied, "the user of this context may not do this: ask for the RBAC permissions, or use a context with them"),
            404 => (ErrorCategory.ObjectNotFound, "check that the API (operator, CRD) is installed on this cluster and the object exists"),
            409 => (ErrorCategory.ResourceExists, "another writer changed or owns the object: run again, or take its fields with -ForceConflicts"),
            422 => (ErrorCategory.InvalidData, "the cluster rejected the object: check the values named in the message"),
            0 => (ErrorCategory.ConnectionError, "check that the cluster's API server is reachable from here (VPN, proxy, kubectl --context <context> get ns) and that the kubeconfig's server address is right"),
            _ => (ErrorCategory.ConnectionError, "check the cluster's health and run again"),
        };
        var message = cluster is not null && !ex.Message.Contains(cluster, StringComparison.Ordinal) ? $"cluster {cluster}: {ex.Message}" : ex.Message;
        return new ErrorRecord(ex, ErrorIds.ClusterError, category, cluster)
        {
            ErrorDetails = new ErrorDetails(message) { RecommendedAction = action },
        };
    }
}
