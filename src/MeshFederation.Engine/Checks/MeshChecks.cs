using System.Globalization;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Checks;

/// <summary>Runs the checks live (against clusters), from a snapshot, and the network probes.</summary>
public static class MeshChecks
{
    /// <summary>
    /// Reads every cluster of <paramref name="clusters"/> (all lists in parallel) and checks what is there against
    /// <paramref name="intended"/> (the topology or piped objects; null checks what is found).
    /// </summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> RunLiveAsync(FederationSet? intended, IEnumerable<ClusterBinding> clusters, ClusterConnections connections,
        CheckOptions options, bool probe, IMeshLog? log, CancellationToken cancellationToken)
    {
        log ??= NullMeshLog.Instance;
        var readers = clusters.DistinctBy(c => c.Name).Select(c => (IClusterReader)new LiveClusterReader(c.Name, connections.For(c))).ToList();
        log.Progress(new MeshProgress(3, null, "Checking federation", $"reading {readers.Count} cluster(s)", 0, false));
        try
        {
            var observed = await ObservedChecks.ObserveAsync(readers, cancellationToken).ConfigureAwait(false);
            log.Verbose($"Observed {observed.Count} control plane(s) in {readers.Count} cluster(s).");
            var results = ObservedChecks.Run(observed, intended, options).ToList();
            if (intended is not null) results.AddRange(await Ossm3FederationChecks.RunLiveAsync(intended, cp => connections.For(cp.Cluster), cancellationToken).ConfigureAwait(false));
            if (probe) results.AddRange(await ProbeAsync(observed, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false));
            return results;
        }
        finally
        {
            log.Progress(new MeshProgress(3, null, "Checking federation", "done", 100, true));
        }
    }

    /// <summary>The same checks on objects saved with kubectl get -o yaml.</summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> RunSnapshotAsync(string directory, IYamlBridge yaml, FederationSet? intended, CheckOptions options, CancellationToken cancellationToken)
    {
        var readers = SnapshotClusterReader.Load(directory, yaml);
        var observed = await ObservedChecks.ObserveAsync(readers, cancellationToken).ConfigureAwait(false);
        return ObservedChecks.Run(observed, intended, options);
    }

    /// <summary>TCP connect to every remote discovery and service port the ServiceMeshPeers name, then TLS on discovery.</summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> ProbeAsync(IReadOnlyList<ObservedMesh> observed, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var work = new List<Task<MeshCheckResult>>();
        foreach (var mesh in observed)
            foreach (var smp in mesh.Peers)
            {
                var peer = ObservedMesh.NameOf(smp);
                var remote = smp["spec"]?["remote"];
                var discovery = remote?["discoveryPort"]?.GetValue<int>() ?? 8188;
                var service = remote?["servicePort"]?.GetValue<int>() ?? 15443;
                foreach (var address in (remote?["addresses"] as System.Text.Json.Nodes.JsonArray)?.Select(a => a!.GetValue<string>()) ?? Enumerable.Empty<string>())
                {
                    work.Add(Probe(mesh.Name, peer, "OSSM2.ProbeDiscovery", address, discovery, expectTls: true, timeout, cancellationToken));
                    work.Add(Probe(mesh.Name, peer, "OSSM2.ProbeService", address, service, expectTls: false, timeout, cancellationToken));
                }
            }
        return await Task.WhenAll(work).ConfigureAwait(false);
    }

    private static async Task<MeshCheckResult> Probe(string mesh, string peer, string id, string address, int port, bool expectTls, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var r = await NetworkProbe.ProbeAsync(address, port, expectTls, null, timeout, cancellationToken).ConfigureAwait(false);
        var ok = r.Connected && (!expectTls || r.TlsAnswered == true);
        return new MeshCheckResult
        {
            Mesh = mesh,
            Peer = peer,
            CheckId = id,
            Status = ok ? CheckStatus.Pass : CheckStatus.Fail,
            Message = string.Create(CultureInfo.InvariantCulture, $"{address}:{port}: {r.Detail} ({r.Elapsed.TotalMilliseconds:0} ms)"),
            Why = expectTls
                ? "Discovery (8188) is HTTPS through the peer's ingress gateway; it must accept connections and speak TLS from here."
                : "Service traffic (15443) is mutual TLS passed through the peer's ingress gateway by SNI; it must accept connections.",
            Fix = ok ? "" : "check the address and port in the ServiceMeshPeer, firewalls, the load balancer or proxy in between (it must pass raw TCP)",
            Evidence = r.ServerCertificate is null ? new[] { $"{address}:{port}" } : new[] { $"{address}:{port}", r.ServerCertificate },
        };
    }
}
