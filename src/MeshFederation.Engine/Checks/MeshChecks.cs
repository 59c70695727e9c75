using System.Globalization;
using System.Text.Json.Nodes;
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
    /// <paramref name="intended"/> (the topology or piped objects; null checks what is found). Remote secrets found are
    /// tried from here. Throws <see cref="NoMeshFoundException"/> when no control plane is found anywhere.
    /// </summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> RunLiveAsync(FederationSet? intended, IEnumerable<ClusterBinding> clusters, ClusterConnections connections,
        CheckOptions options, bool probe, IMeshLog? log, CancellationToken cancellationToken, Action<ClusterBinding, Exception>? onClusterFailed = null)
    {
        log ??= NullMeshLog.Instance;
        var bindings = clusters.DistinctBy(c => c.Name).ToList();
        log.Progress(new MeshProgress(3, null, "Checking federation", $"reading {bindings.Count} cluster(s)", 0, false));
        try
        {
            // Each cluster is read on its own: one that is missing, unreachable or refuses us is a Fail result (and
            // reported to the caller); the others are still checked.
            var readers = new List<IClusterReader>();
            var failed = new List<(ClusterBinding Binding, Exception Error)>();
            foreach (var b in bindings)
            {
                try
                {
                    readers.Add(new LiveClusterReader(b.Name, connections.For(b)));
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failed.Add((b, ex));
                }
            }
            var observed = await Observation.ObserveAsync(readers, cancellationToken).ConfigureAwait(false);
            foreach (var c in observed.Clusters)
            {
                // Nothing at all could be read: the cluster is unreachable or refuses us.
                var firstRound = new[] { KindRef.Smcp, KindRef.Smp, KindRef.Istio, KindRef.Node };
                if (firstRound.All(k => !c.Read(k).Ok))
                    failed.Add((bindings.First(b => b.Name == c.Cluster), new InvalidOperationException(c.Read(KindRef.Smcp).Unreadable ?? "nothing could be read")));
                else
                    foreach (var kind in new[] { KindRef.Smcp, KindRef.Smp, KindRef.Istio })
                        if (!c.Read(kind).Ok) log.Warning($"{c.Cluster}: {kind.Kind} objects could not be read: {c.Read(kind).Unreadable}");
            }
            log.Verbose($"Observed {observed.Meshes.Count(m => m.ControlPlane is not null)} ServiceMeshControlPlane(s) and {observed.IstioControlPlanes.Count} Istio control plane(s) in {bindings.Count - failed.Count} of {bindings.Count} cluster(s).");
            log.Progress(new MeshProgress(3, null, "Checking federation", "checking", 50, false));
            List<MeshCheckResult> results;
            try
            {
                results = (await ObservedChecks.RunAsync(observed, intended, WithYaml(options, connections.Yaml), cancellationToken).ConfigureAwait(false)).ToList();
            }
            catch (NoMeshFoundException) when (failed.Count > 0)
            {
                // Nothing found in the clusters that could be read, and some could not be read: those are the news.
                results = new List<MeshCheckResult>();
            }
            foreach (var (binding, error) in failed)
            {
                onClusterFailed?.Invoke(binding, error);
                var meshes = intended?.ControlPlanes.Where(c => c.ClusterName == binding.Name).Select(c => c.Name).Distinct().ToList() ?? new List<string>();
                results.Add(new MeshCheckResult
                {
                    Mesh = meshes.Count > 0 ? string.Join(",", meshes) : binding.Name,
                    Cluster = binding.Name,
                    CheckId = "CLUSTER.Reachable",
                    Status = CheckStatus.Fail,
                    Message = $"cluster {binding.Name} could not be read: {error.Message}",
                    Why = "Nothing in this cluster was observed, so none of its checks ran; they are not passed.",
                    Fix = "check the context (kubectl --context <context> get ns): the API server must be reachable from here and the credentials accepted",
                    Evidence = new[] { new MeshEvidence { Cluster = binding.Name, Object = $"context {binding.Context ?? binding.Name}", Value = "unreadable: " + error.Message, Source = "live" } },
                });
            }
            if (intended is not null) results.AddRange(await Ossm3FederationChecks.RunLiveAsync(intended, cp => connections.For(cp.Cluster), cancellationToken).ConfigureAwait(false));
            if (probe) results.AddRange(await ProbeAsync(observed.Meshes, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false));
            return results;
        }
        finally
        {
            log.Progress(new MeshProgress(3, null, "Checking federation", "done", 100, true));
        }
    }

    private static CheckOptions WithYaml(CheckOptions o, IYamlBridge yaml) => o.Yaml is not null ? o : new CheckOptions
    {
        Now = o.Now, ResyncPeriod = o.ResyncPeriod, SyncWarnAfter = o.SyncWarnAfter, SyncFailAfter = o.SyncFailAfter, RemoteTimeout = o.RemoteTimeout, Yaml = yaml,
    };

    /// <summary>
    /// The same checks on objects saved with kubectl get -o yaml (and istioctl remote-clusters output). Without
    /// <see cref="CheckOptions.Now"/>, ages are measured against when the files were saved.
    /// </summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> RunSnapshotAsync(string directory, IYamlBridge yaml, FederationSet? intended, CheckOptions options, CancellationToken cancellationToken)
    {
        var readers = SnapshotClusterReader.Load(directory, yaml, options.Now);
        var observed = await Observation.ObserveAsync(readers, cancellationToken).ConfigureAwait(false);
        return await ObservedChecks.RunAsync(observed, intended, WithYaml(options, yaml), cancellationToken).ConfigureAwait(false);
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
                var discovery = remote?["discoveryPort"].I() ?? 8188;
                var service = remote?["servicePort"].I() ?? 15443;
                foreach (var address in (remote?["addresses"] as JsonArray)?.Select(a => a.S()).Where(a => !string.IsNullOrEmpty(a)) ?? Enumerable.Empty<string?>())
                {
                    work.Add(Probe(mesh, peer, CheckCatalogue.ProbeDiscovery, address!, discovery, expectTls: true, timeout, cancellationToken));
                    work.Add(Probe(mesh, peer, CheckCatalogue.ProbeService, address!, service, expectTls: false, timeout, cancellationToken));
                }
            }
        return await Task.WhenAll(work).ConfigureAwait(false);
    }

    private static async Task<MeshCheckResult> Probe(ObservedMesh mesh, string peer, CheckInfo check, string address, int port, bool expectTls, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var r = await NetworkProbe.ProbeAsync(address, port, expectTls, null, timeout, cancellationToken).ConfigureAwait(false);
        var ok = r.Connected && (!expectTls || r.TlsAnswered == true);
        var at = DateTimeOffset.UtcNow;
        var evidence = new List<MeshEvidence>
        {
            new() { Cluster = mesh.Cluster, Object = $"{address}:{port}", Field = expectTls ? "TCP connect, TLS handshake" : "TCP connect", Value = r.Detail, ObservedAt = at, Source = "from here" },
        };
        if (r.ServerCertificate is not null)
            evidence.Add(new MeshEvidence { Cluster = mesh.Cluster, Object = $"{address}:{port}", Field = "server certificate", Value = r.ServerCertificate, ObservedAt = at, Source = "from here" });
        return new MeshCheckResult
        {
            Mesh = mesh.Name,
            Peer = peer,
            Cluster = mesh.Cluster,
            CheckId = check.Id,
            Status = ok ? CheckStatus.Pass : CheckStatus.Fail,
            Message = string.Create(CultureInfo.InvariantCulture, $"{address}:{port}: {r.Detail} ({r.Elapsed.TotalMilliseconds:0} ms)"),
            Why = check.Why,
            Fix = ok ? "" : "check the address and port in the ServiceMeshPeer, firewalls, the load balancer or proxy in between (it must pass raw TCP)",
            Evidence = evidence,
        };
    }
}
