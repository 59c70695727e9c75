namespace MeshFederation.Engine.Model;

/// <summary>The outcome of one check for one mesh (and peer, when the check is about a peering).</summary>
public sealed class MeshCheckResult
{
    public required string Mesh { get; init; }

    public string? Peer { get; init; }

    /// <summary>Stable identifier, e.g. <c>OSSM2.TrustDomainUnique</c>.</summary>
    public required string CheckId { get; init; }

    public required CheckStatus Status { get; init; }

    public required string Message { get; init; }

    /// <summary>Why the check matters.</summary>
    public string Why { get; init; } = "";

    /// <summary>How to fix a failure or warning.</summary>
    public string Fix { get; init; } = "";

    /// <summary>What the check looked at (object references, values); never secrets.</summary>
    public IReadOnlyList<string> Evidence { get; init; } = Array.Empty<string>();

    public override string ToString() => $"[{Status}] {CheckId} {Mesh}{(Peer is null ? "" : "->" + Peer)}: {Message}";
}
