using System.Net;

namespace MeshFederation.Engine.Kube;

/// <summary>An error answered by a Kubernetes API server (after retries), with its Status reason and message.</summary>
public sealed class KubeApiException : Exception
{
    public KubeApiException(string message) : base(message) { }

    public KubeApiException(string message, Exception inner) : base(message, inner) { }

    public KubeApiException() : base("Kubernetes API error") { }

    public KubeApiException(string cluster, string verb, string path, HttpStatusCode status, string? reason, string? apiMessage)
        : base($"{cluster}: {verb} {path} failed: {(int)status} {reason ?? status.ToString()}{(string.IsNullOrEmpty(apiMessage) ? "" : ": " + apiMessage)}")
    {
        Cluster = cluster;
        Verb = verb;
        Path = path;
        StatusCode = status;
        Reason = reason;
        ApiMessage = apiMessage;
    }

    public string? Cluster { get; }

    public string? Verb { get; }

    public string? Path { get; }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The Status reason, e.g. NotFound, Conflict, Forbidden, Unauthorized.</summary>
    public string? Reason { get; }

    public string? ApiMessage { get; }
}
