using System.Globalization;
using System.Text;

namespace MeshFederation.Engine.Model;

/// <summary>The outcome of one check for one mesh (and peer, when the check is about a peering).</summary>
public sealed class MeshCheckResult
{
    public required string Mesh { get; init; }

    public string? Peer { get; init; }

    /// <summary>The cluster of the mesh the result is about (mesh names repeat across clusters).</summary>
    public string? Cluster { get; init; }

    /// <summary>Stable identifier, e.g. <c>OSSM2.TrustDomainUnique</c>.</summary>
    public required string CheckId { get; init; }

    public required CheckStatus Status { get; init; }

    public required string Message { get; init; }

    /// <summary>Why the check matters.</summary>
    public string Why { get; init; } = "";

    /// <summary>How to fix a failure or warning.</summary>
    public string Fix { get; init; } = "";

    /// <summary>What the check looked at: cluster, object, field, value and when it was read; never secrets.</summary>
    public IReadOnlyList<MeshEvidence> Evidence { get; init; } = Array.Empty<MeshEvidence>();

    public override string ToString() => $"[{Status}] {CheckId} {Mesh}{(Peer is null ? "" : "->" + Peer)}: {Message}";
}

/// <summary>
/// One thing a check observed: the cluster, the object, the field and its value, and when it was read. Declared values
/// (a topology or pipeline objects, checked offline) have no time; their <see cref="Source"/> names the declaration.
/// Values are never secrets: tokens and keys are reported by presence only, certificates by subject and fingerprint.
/// </summary>
public sealed record MeshEvidence
{
    public string? Cluster { get; init; }

    /// <summary>The object, e.g. <c>ServiceMeshPeer mesh1-system/mesh2</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "Kubernetes calls them objects; the evidence names cluster, object, field, value and time.")]
    public required string Object { get; init; }

    /// <summary>The field looked at, e.g. <c>spec.remote.addresses</c>; null for the object as a whole.</summary>
    public string? Field { get; init; }

    /// <summary>What the field held, or why it could not be read.</summary>
    public string? Value { get; init; }

    /// <summary>When it was read from the cluster (or saved, for a snapshot); null for a declaration.</summary>
    public DateTimeOffset? ObservedAt { get; init; }

    /// <summary>Where it was read: the API server, the snapshot file, or the topology file and line.</summary>
    public string? Source { get; init; }

    public override string ToString()
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(Cluster)) sb.Append(Cluster).Append(": ");
        sb.Append(Object);
        if (!string.IsNullOrEmpty(Field)) sb.Append(' ').Append(Field);
        if (Value is not null) sb.Append(" = ").Append(Value);
        if (ObservedAt is { } at) sb.Append(" (read ").Append(at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Append(')');
        else if (Source is not null) sb.Append(" (declared in ").Append(Source).Append(')');
        return sb.ToString();
    }
}
