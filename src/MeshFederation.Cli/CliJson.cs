using System.Text.Json.Serialization;
using MeshFederation.Engine.Model;

namespace MeshFederation.Cli;

/// <summary>One row of <c>meshfed check --output json</c> (property order is the output's field order).</summary>
internal sealed record CheckResultJson(string Mesh, string? Peer, string? Cluster, string CheckId, string Status, string Message, string Why, string Fix, IReadOnlyList<MeshEvidence> Evidence);

/// <summary>One control plane of <c>meshfed discover --output json</c>.</summary>
internal sealed record DiscoveredMeshJson(string Name, string Namespace, string Cluster, string Provider, string Style, string Version, string TrustDomain, IReadOnlyList<string> MemberNamespaces);

/// <summary>
/// meshfed's JSON output, generated at build time: no reflection, so the native (AOT) build writes exactly what the
/// framework-dependent one does.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(List<CheckResultJson>))]
[JsonSerializable(typeof(List<DiscoveredMeshJson>))]
internal sealed partial class CliJson : JsonSerializerContext;
