using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.IO;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Pki;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;
using MeshFederation.Yaml;

namespace MeshFederation.Cli;

/// <summary>meshfed's commands. Exit codes: 0 success, 1 a check failed, 2 bad input (nothing written).</summary>
public static partial class MeshfedApp
{
    public const int ExitOk = 0;
    public const int ExitCheckFailed = 1;
    public const int ExitBadInput = 2;
    public const int ExitFailed = 1;
    public const int ExitCancelled = 130;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, Interrupts.None);

    /// <summary>Runs meshfed; <paramref name="interrupts"/> turns SIGINT/SIGTERM during a write into a clean stop.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Interrupts interrupts)
    {
        ArgumentNullException.ThrowIfNull(interrupts);
        IYamlBridge yaml = new YamlDotNetBridge();
        var topologyArg = new Argument<FileInfo>("topology") { Description = "Topology file (YAML, docs/topology.md)." };

        var outOption = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder to write one YAML file per cluster and SUMMARY.md into.", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be written; write nothing." };
        var format = new Option<string>("--format") { Description = "files (one YAML per cluster), kustomize (clusters/<cluster>/ with kustomization.yaml), argocd (kustomize tree + ApplicationSet) or ocm (ManifestWorks for an OCM hub).", DefaultValueFactory = _ => "files" };
        format.AcceptOnlyFromAmong("files", "kustomize", "argocd", "ocm");
        var secretsOut = new Option<DirectoryInfo?>("--secrets-out") { Description = "kustomize/argocd/ocm: folder for Secrets holding keys or tokens (0600), outside --out (default: <out>.secrets)." };
        var repoUrl = new Option<string?>("--repo-url") { Description = "argocd: the Git repository the tree is committed to." };
        var revision = new Option<string>("--revision") { Description = "argocd: the revision to sync.", DefaultValueFactory = _ => "HEAD" };
        var repoPath = new Option<string>("--repo-path") { Description = "argocd: the tree's folder inside the repository.", DefaultValueFactory = _ => "" };
        var argoNamespace = new Option<string>("--argocd-namespace") { Description = "argocd: the namespace Argo CD runs in.", DefaultValueFactory = _ => "argocd" };
        var argoProject = new Option<string>("--argocd-project") { Description = "argocd: the AppProject of the Applications.", DefaultValueFactory = _ => "default" };
        var clusterSelector = new Option<string[]>("--cluster-selector") { Description = "argocd: use a cluster generator selecting Argo CD clusters with this label (key=value, repeatable) instead of a list of the topology's clusters.", AllowMultipleArgumentsPerToken = true };
        var clusterSet = new Option<string?>("--cluster-set") { Description = "ocm: also write a Placement and a ManagedClusterSetBinding for this ManagedClusterSet." };
        var placementNamespace = new Option<string>("--placement-namespace") { Description = "ocm: hub namespace of the Placement and binding.", DefaultValueFactory = _ => "meshfederation" };
        var splitBytes = new Option<int>("--split-bytes") { Description = "ocm: start a new ManifestWork before one passes this size (OCM refuses works above 512,000 bytes).", DefaultValueFactory = _ => 400 * 1024 };
        var render = new Command("render", "Render a topology into one multi-document YAML per cluster, in apply order, plus a summary; or (--format) a kustomize tree, an Argo CD ApplicationSet with its tree, or OCM ManifestWorks.")
        {
            topologyArg, outOption, dryRun, format, secretsOut, repoUrl, revision, repoPath, argoNamespace, argoProject, clusterSelector, clusterSet, placementNamespace, splitBytes,
        };
        render.SetAction(r => Guard(stderr, () =>
        {
            var topology = r.GetValue(topologyArg)!.FullName;
            var kind = Enum.Parse<Engine.Distribution.DistributionFormat>(r.GetValue(format)!, ignoreCase: true);
            var distribution = new Engine.Distribution.DistributionOptions
            {
                RepoUrl = r.GetValue(repoUrl), Revision = r.GetValue(revision)!, RepoPath = r.GetValue(repoPath)!,
                ArgoNamespace = r.GetValue(argoNamespace)!, ArgoProject = r.GetValue(argoProject)!,
                ClusterSelector = ParseLabels(r.GetValue(clusterSelector), "--cluster-selector"),
                ClusterSet = r.GetValue(clusterSet), PlacementNamespace = r.GetValue(placementNamespace)!, MaxWorkBytes = r.GetValue(splitBytes),
            };
            if (kind != Engine.Distribution.DistributionFormat.Files)
                distribution.Validate(kind, f => f switch
                {
                    "RepoUrl" => "--repo-url", "Revision" => "--revision", "RepoPath" => "--repo-path", "ArgoNamespace" => "--argocd-namespace",
                    "ClusterSelector" => "--cluster-selector", "ClusterSet" => "--cluster-set", "PlacementNamespace" => "--placement-namespace",
                    "MaxWorkBytes" => "--split-bytes", _ => "--" + f.ToLowerInvariant(),
                });
            if (kind != Engine.Distribution.DistributionFormat.Files)
            {
                // A GitOps tree is rendered whole (kustomizations, ApplicationSet, ManifestWorks name every object).
                var fullSet = TopologyLoader.LoadFile(topology, yaml);
                var full = Ossm2Renderer.Render(fullSet);
                var treeDir = r.GetValue(outOption)!.FullName;
                var treeOptionsBase = WriteOptions("--out", interrupts, stderr, Inputs(fullSet, topology));
                var output = Engine.Distribution.DistributionRenderer.Render(full, kind, distribution, yaml);
                var secretsDir = r.GetValue(secretsOut)?.FullName ?? Engine.Distribution.DistributionWriter.DefaultSecretsDirectory(treeDir);
                var treeOptions = treeOptionsBase with { PrivateFiles = new HashSet<string>(StringComparer.Ordinal) };
                if (r.GetValue(dryRun))
                {
                    Engine.Distribution.DistributionWriter.Check(treeDir, secretsDir, output, treeOptions, "--secrets-out");
                    foreach (var (path, content) in output.Files)
                        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"would write {Path.Combine(treeDir, path)} ({content.Length} bytes)"));
                    foreach (var (path, content) in output.SecretFiles)
                        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"would write {Path.Combine(secretsDir, path)} ({content.Length} bytes, 0600)"));
                    return ExitOk;
                }
                (OutputFolderResult Tree, OutputFolderResult? Secrets) both;
                using (interrupts.Writing()) both = Engine.Distribution.DistributionWriter.Write(treeDir, secretsDir, output, treeOptions, "--secrets-out");
                foreach (var f in both.Tree.Written) stdout.WriteLine($"wrote {f}");
                foreach (var f in both.Secrets?.Written ?? Array.Empty<string>()) stdout.WriteLine($"wrote {f} (0600, keep it out of Git)");
                foreach (var f in both.Tree.Removed) stdout.WriteLine($"removed {f} (meshfed wrote it earlier; this render no longer has it)");
                foreach (var p in full.Pending) stderr.WriteLine($"pending: {p}");
                foreach (var w in full.Warnings) stderr.WriteLine($"warning: {w}");
                return ExitOk;
            }
            var set = TopologyLoader.LoadFile(topology, yaml, judgeRendered: false); // the render below judges every object
            // Rendered and written cluster by cluster (a large federation never holds every document at once), into a
            // new folder that replaces the old one only when everything was rendered and written (OutputFolder).
            var result = Ossm2Renderer.RenderByCluster(set);
            var paths = ManifestEmitter.Paths(result);
            var dir = r.GetValue(outOption)!.FullName;
            var options = WriteOptions("--out", interrupts, stderr, Inputs(set, topology));
            if (r.GetValue(dryRun))
            {
                var sizes = OutputFolder.Check(dir, paths, sink => ManifestEmitter.Write(result, yaml, sink), options);
                foreach (var (path, length) in sizes.OrderBy(f => f.Key, StringComparer.Ordinal))
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"would write {Path.Combine(dir, path)} ({length} bytes)"));
                return ExitOk;
            }
            OutputFolderResult written;
            using (interrupts.Writing()) written = OutputFolder.Write(dir, paths, sink => ManifestEmitter.Write(result, yaml, sink), options);
            foreach (var f in written.Written) stdout.WriteLine($"wrote {f}");
            foreach (var f in written.Removed) stdout.WriteLine($"removed {f} (meshfed wrote it earlier; this render no longer has it)");
            foreach (var p in result.Pending) stderr.WriteLine($"pending: {p}");
            foreach (var w in result.Warnings) stderr.WriteLine($"warning: {w}");
            return ExitOk;
        }, interrupts));

        var validate = new Command("validate", "Validate a topology; print every problem with file and line.") { topologyArg };
        validate.SetAction(r => Guard(stderr, () =>
        {
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml);
            stdout.WriteLine($"{r.GetValue(topologyArg)!.Name}: valid ({set.ControlPlanes.Count} meshes, {set.Peerings.Count} peerings, {set.Exports.Count} exports, {set.Imports.Count} imports)");
            return ExitOk;
        }));

        var output = new Option<string>("--output") { Description = "table or json.", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json");
        var checkTopology = new Argument<FileInfo?>("topology") { Description = "Topology file (optional with --snapshot or --context).", Arity = ArgumentArity.ZeroOrOne };
        var live = new Option<bool>("--live") { Description = "Read the clusters the topology is bound to." };
        var probe = new Option<bool>("--probe") { Description = "Also probe every remote discovery and service port from here." };
        var snapshot = new Option<DirectoryInfo?>("--snapshot") { Description = "Check objects saved with kubectl get -o yaml (one sub-folder per cluster)." };
        var checkContexts = new Option<string[]>("--context") { Description = "Check the meshes running in these contexts.", AllowMultipleArgumentsPerToken = true };
        var checkKubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Kubeconfig file for --live and --context." };
        var checkInCluster = InClusterOption();
        var ocmHub = new Option<string?>("--ocm-hub") { Description = "Check through an Open Cluster Management hub (this context): the status feedback of the ManifestWorks of render --format ocm, without access to the managed clusters." };
        var asOf = new Option<DateTimeOffset?>("--as-of") { Description = "Time sync ages are measured against (for a snapshot: when it was taken; default: the files' times)." };
        var syncWarn = new Option<int?>("--sync-warn-after") { Description = "Seconds after which a ServiceMeshPeer's last full sync is a warning (default 120: two resync periods)." };
        var syncFail = new Option<int?>("--sync-fail-after") { Description = "Seconds after which it is a failure (default 600: ten resync periods)." };
        var check = new Command("check", "Run the federation checks: offline on a topology, live (--live, --context), on a snapshot, or through an OCM hub (--ocm-hub). Exit 0: nothing failed; 1: a check failed or no mesh was found; 2: bad input.")
        {
            checkTopology, output, live, probe, snapshot, checkContexts, checkKubeconfig, checkInCluster, asOf, syncWarn, syncFail, ocmHub,
        };
        check.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var file = r.GetValue(checkTopology);
            var contexts = r.GetValue(checkContexts) ?? Array.Empty<string>();
            var snap = r.GetValue(snapshot);
            var hub = r.GetValue(ocmHub);
            if (file is null && snap is null && contexts.Length == 0 && hub is null)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "topology", null, "nothing to check",
                    "give a topology file, --snapshot DIR, --context NAME or --ocm-hub CONTEXT"));
            if (hub is not null && (snap is not null || contexts.Length > 0 || r.GetValue(live) || r.GetValue(probe)))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--ocm-hub", hub, "cannot be combined with --snapshot, --context, --live or --probe",
                    "check through the hub alone (with the topology to name the clusters that must have a ManifestWork)"));
            var set = file is null ? null : TopologyLoader.LoadFile(file.FullName, yaml);
            var options = new CheckOptions
            {
                Now = r.GetValue(asOf), Yaml = yaml,
                SyncWarnAfter = r.GetValue(syncWarn) is { } w ? TimeSpan.FromSeconds(w) : null,
                SyncFailAfter = r.GetValue(syncFail) is { } f ? TimeSpan.FromSeconds(f) : null,
            };
            IReadOnlyList<MeshCheckResult> results;
            if (hub is not null)
            {
                var log = new CliLog(stderr);
                using var connections = new ClusterConnections(yaml, r.GetValue(checkKubeconfig)?.FullName, new KubeClientOptions(), log, r.GetValue(checkInCluster));
                results = await Engine.Distribution.OcmHubChecks.RunAsync(connections.For(new ClusterBinding(hub) { Context = hub }), hub, set, options, ct).ConfigureAwait(false);
            }
            else if (snap is not null) results = await MeshChecks.RunSnapshotAsync(snap.FullName, yaml, set, options, ct).ConfigureAwait(false);
            else if (contexts.Length > 0 || r.GetValue(live))
            {
                var log = new CliLog(stderr);
                using var connections = new ClusterConnections(yaml, r.GetValue(checkKubeconfig)?.FullName, new KubeClientOptions(), log, r.GetValue(checkInCluster));
                var clusters = contexts.Length > 0 ? contexts.Select(c => new ClusterBinding(c) { Context = c }).ToList() : set!.ControlPlanes.Select(c => c.Cluster).ToList();
                results = await MeshChecks.RunLiveAsync(set, clusters, connections, options, r.GetValue(probe), log, ct).ConfigureAwait(false);
            }
            else results = FederationChecks.Run(set!);
            if (r.GetValue(output) == "json")
                stdout.WriteLine(JsonSerializer.Serialize(results.Select(x => new CheckResultJson(
                    x.Mesh, x.Peer, x.Cluster, x.CheckId, x.Status.ToString(), x.Message, x.Why, x.Fix, x.Evidence)).ToList(), CliJson.Default.ListCheckResultJson));
            else
                WriteTable(stdout, results);
            return results.Any(x => x.Status == CheckStatus.Fail) ? ExitCheckFailed : ExitOk;
        }));

        var proxy = new Command("proxy", "Print the haproxy configuration (and firewall commands) of a topology's federation proxy.") { topologyArg };
        var firewall = new Option<bool>("--firewall") { Description = "Print the firewall-cmd commands instead (text only; never run)." };
        proxy.Options.Add(firewall);
        var fromCluster = new Option<bool>("--from-cluster") { Description = "Read node addresses and assigned node ports from the clusters." };
        var proxyKubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Kubeconfig for --from-cluster." };
        proxy.Options.Add(fromCluster);
        proxy.Options.Add(proxyKubeconfig);
        proxy.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var file = r.GetValue(topologyArg)!.FullName;
            var set = TopologyLoader.LoadFile(file, yaml);
            var options = set.ProxyConfigs.FirstOrDefault()?.Options ?? set.PendingProxy ?? throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, "proxy", null,
                "the topology declares no federation proxy", "add a 'proxy:' section (docs/topology.md)"));
            Engine.Proxy.FederationProxyConfig config;
            if (r.GetValue(fromCluster))
            {
                var log = new CliLog(stderr);
                using var connections = new ClusterConnections(yaml, r.GetValue(proxyKubeconfig)?.FullName, new KubeClientOptions(), log);
                var (peerings, ports) = await new LiveFederation(connections, null, log).ReadProxyInputsAsync(set.Peerings, ct).ConfigureAwait(false);
                config = Engine.Proxy.ProxyBuilder.Build(peerings, options with { NodePortOverrides = ports });
            }
            else config = set.ProxyConfigs.FirstOrDefault() ?? Engine.Proxy.ProxyBuilder.Build(set.Peerings, options);
            stdout.Write(r.GetValue(firewall) ? string.Join('\n', config.FirewallCommands) + "\n" : config.HaproxyConfig);
            return ExitOk;
        }));

        var kubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Kubeconfig file to use instead of each mesh's own ($KUBECONFIG, ~/.kube/config)." };
        var inCluster = InClusterOption();
        var forceConflicts = new Option<bool>("--force-conflicts") { Description = "Take over fields other field managers own (server-side apply --force-conflicts)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for control planes and gateway addresses.", DefaultValueFactory = _ => 600 };
        var prune = new Option<bool>("--prune") { Description = "Also delete objects meshfederation created earlier that the topology no longer has." };
        var applyDryRun = new Option<bool>("--dry-run") { Description = "Print the plan; change nothing." };
        var apply = new Command("apply", "Apply a topology to its clusters: read roots and addresses, plan, apply in dependency order, wait for control planes.")
        {
            topologyArg, kubeconfig, inCluster, forceConflicts, timeout, prune, applyDryRun,
        };
        apply.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var log = new CliLog(stderr);
            log.Debug("apply: started");
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml, judgeRendered: false);
            using var connections = new ClusterConnections(yaml, r.GetValue(kubeconfig)?.FullName, new KubeClientOptions(), log, r.GetValue(inCluster));
            var live = new LiveFederation(connections, new LiveOptions
            {
                ForceConflicts = r.GetValue(forceConflicts), WaitTimeout = TimeSpan.FromSeconds(r.GetValue(timeout)), Prune = r.GetValue(prune),
            }, log);
            var connecting = JudgeWhileConnecting(live, set, connections, log, ct);
            log.Debug("apply: topology loaded and judged");
            var plan = await live.PlanAsync(set, ct).ConfigureAwait(false);
            await connecting.ConfigureAwait(false);
            WritePlan(stdout, plan);
            if (r.GetValue(applyDryRun) || !plan.HasChanges) return ExitOk;
            var outcomes = await live.ApplyAsync(set, plan, _ => true, ct).ConfigureAwait(false);
            WriteOutcomes(stdout, outcomes);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"applied {outcomes.Count(o => o.State is OutcomeState.Applied or OutcomeState.Deleted)} change(s)"));
            log.Debug("apply: done");
            return ExitOk;
        }));

        var planCommand = new Command("plan", "Print what apply would change (create, update, unchanged, delete per object), from a server-side dry run.") { topologyArg, kubeconfig, inCluster };
        planCommand.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var log = new CliLog(stderr);
            log.Debug("plan: started");
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml, judgeRendered: false);
            using var connections = new ClusterConnections(yaml, r.GetValue(kubeconfig)?.FullName, new KubeClientOptions(), log, r.GetValue(inCluster));
            var live = new LiveFederation(connections, null, log);
            var connecting = JudgeWhileConnecting(live, set, connections, log, ct);
            log.Debug("plan: topology loaded and judged");
            WritePlan(stdout, await live.PlanAsync(set, ct).ConfigureAwait(false));
            await connecting.ConfigureAwait(false);
            return ExitOk;
        }));

        var keepNamespaces = new Option<bool>("--keep-namespaces") { Description = "Keep the control-plane namespaces meshfederation created." };
        var deleteDryRun = new Option<bool>("--dry-run") { Description = "Print what would be deleted; delete nothing." };
        var deleteTimeout = new Option<int>("--timeout") { Description = "Seconds to wait for deleted objects to be gone; what is still there is reported as terminating.", DefaultValueFactory = _ => 120 };
        var delete = new Command("delete", "Delete exactly what meshfederation created for the topology's meshes, and nothing else.")
        {
            topologyArg, kubeconfig, inCluster, keepNamespaces, deleteTimeout, deleteDryRun,
        };
        delete.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var log = new CliLog(stderr);
            log.Debug("delete: started");
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml);
            log.Debug("delete: topology loaded and judged");
            using var connections = new ClusterConnections(yaml, r.GetValue(kubeconfig)?.FullName, new KubeClientOptions(), log, r.GetValue(inCluster));
            log.Debug(SystemTrustStore.Prepare(connections.ContextsFor(set.ControlPlanes.Select(c => c.Cluster))));
            var live = new LiveFederation(connections, new LiveOptions { KeepNamespaces = r.GetValue(keepNamespaces), DeleteTimeout = TimeSpan.FromSeconds(r.GetValue(deleteTimeout)) }, log);
            var plan = await live.PlanRemovalAsync(set, ct).ConfigureAwait(false);
            WritePlan(stdout, plan);
            if (r.GetValue(deleteDryRun) || !plan.HasChanges) return ExitOk;
            var outcomes = await live.ApplyAsync(set, plan, _ => true, ct).ConfigureAwait(false);
            WriteOutcomes(stdout, outcomes);
            var released = outcomes.Count(o => o.State == OutcomeState.Applied);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"deleted {outcomes.Count(o => o.State == OutcomeState.Deleted)} object(s){(released == 0 ? "" : $", released {released} namespace(s)")}, {outcomes.Count(o => o.State == OutcomeState.Terminating)} still terminating, {outcomes.Count(o => o.State == OutcomeState.Kept)} kept"));
            return outcomes.Any(o => o.State == OutcomeState.Terminating) ? ExitFailed : ExitOk;
        }));

        var contexts = new Option<string[]>("--context") { Description = "Kubeconfig context(s) to look in (default: the current context).", AllowMultipleArgumentsPerToken = true };
        var discoverOutput = new Option<string>("--output") { Description = "table or json.", DefaultValueFactory = _ => "table" };
        discoverOutput.AcceptOnlyFromAmong("table", "json");
        var discover = new Command("discover", "List the control planes running in clusters (SMCP, Sail Istio, istiod).") { contexts, kubeconfig, inCluster, discoverOutput };
        discover.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var file = r.GetValue(kubeconfig)?.FullName;
            var pod = r.GetValue(inCluster) || (file is null && r.GetValue(contexts) is not { Length: > 0 } && !KubeConfig.AnyFileExists(null) && KubeConfig.InClusterAvailable());
            var names = r.GetValue(contexts) is { Length: > 0 } c ? c
                : pod ? new[] { "in-cluster" }
                : new[] { KubeConfig.Load(file, yaml).CurrentContext ?? throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--context", null, "no context given and the kubeconfig has no current-context", "pass --context NAME")) };
            var log = new CliLog(stderr);
            using var connections = new ClusterConnections(yaml, file, new KubeClientOptions(), log, r.GetValue(inCluster));
            var found = await MeshDiscovery.DiscoverAsync(connections, names.Select(n => new ClusterBinding(n) { Context = n, KubeConfig = file }), log, ct).ConfigureAwait(false);
            if (r.GetValue(discoverOutput) == "json")
                stdout.WriteLine(JsonSerializer.Serialize(found.Select(m => new DiscoveredMeshJson(m.Name, m.Namespace, m.ClusterName, m.Provider.ToString(), m.Style.ToString(), m.Version, m.TrustDomain, m.MemberNamespaces)).ToList(), CliJson.Default.ListDiscoveredMeshJson));
            else
                WriteRows(stdout, new[] { "NAME", "NAMESPACE", "CLUSTER", "PROVIDER", "VERSION", "TRUST DOMAIN" },
                    found.Select(m => new[] { m.Name, m.Namespace, m.ClusterName, m.Provider.ToString(), m.Version, m.TrustDomain }));
            return ExitOk;
        }));

        var graphFormat = new Option<string>("--format") { Description = "mermaid, dot or svg (svg needs Graphviz).", DefaultValueFactory = _ => "mermaid" };
        graphFormat.AcceptOnlyFromAmong("mermaid", "dot", "svg");
        var graphOut = new Option<FileInfo?>("--out", "-o") { Description = "Write to this file (atomically) instead of standard output." };
        var graphLive = new Option<bool>("--live") { Description = "Colour the peerings with live checks of the clusters." };
        var graphKubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Kubeconfig file for --live." };
        var graph = new Command("graph", "Draw the federation (Mermaid, Graphviz DOT or SVG): peerings coloured by their checks, exports and imports shown.")
        {
            topologyArg, graphFormat, graphOut, graphLive, graphKubeconfig,
        };
        graph.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var set = TopologyLoader.LoadFile(r.GetValue(topologyArg)!.FullName, yaml);
            IReadOnlyList<MeshCheckResult> results;
            if (r.GetValue(graphLive))
            {
                var log = new CliLog(stderr);
                using var connections = new ClusterConnections(yaml, r.GetValue(graphKubeconfig)?.FullName, new KubeClientOptions(), log);
                results = await MeshChecks.RunLiveAsync(set, set.ControlPlanes.Select(c => c.Cluster), connections, new CheckOptions(), false, log, ct).ConfigureAwait(false);
            }
            else results = FederationChecks.Run(set);
            var format = Enum.Parse<GraphFormat>(r.GetValue(graphFormat)!, ignoreCase: true);
            var text = FederationGraph.Render(FederationGraph.From(set, results), format);
            if (r.GetValue(graphOut) is { } file) OutputFolder.WriteFile(file.FullName, text, WriteOptions("--out", interrupts, stderr, Inputs(set, r.GetValue(topologyArg)!.FullName)));
            else stdout.Write(text);
            return ExitOk;
        }));

        var caClusters = new Option<string[]>("--cluster") { Description = "Cluster to issue an intermediate for (repeatable).", AllowMultipleArgumentsPerToken = true };
        var caOut = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder for the PEM files (keys are written 0600).", Required = true };
        var caAlgorithm = new Option<string>("--algorithm") { Description = "rsa4096 (default) or ecdsa-p256.", DefaultValueFactory = _ => "rsa4096" };
        caAlgorithm.AcceptOnlyFromAmong("rsa4096", "ecdsa-p256");
        var caDays = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 3650 };
        var caRootCert = new Option<FileInfo?>("--root-cert") { Description = "Existing root certificate (PEM) to issue under." };
        var caRootKey = new Option<FileInfo?>("--root-key") { Description = "Its private key (PEM)." };
        var caTrust = new Option<FileInfo[]>("--trust-also") { Description = "Older root certificates to keep trusted (rollover bundle)." };
        var caForce = new Option<bool>("--force") { Description = "Replace key material that already exists in --out (certificates issued under the old keys stop verifying)." };
        var ca = new Command("ca", "Create a shared root CA and intermediates per cluster (seed 003), or issue/rotate intermediates under an existing root.")
        {
            caClusters, caOut, caAlgorithm, caDays, caRootCert, caRootKey, caTrust, caForce,
        };
        ca.SetAction(r => Guard(stderr, () =>
        {
            var rootCert = r.GetValue(caRootCert);
            var rootKey = r.GetValue(caRootKey);
            var days = r.GetValue(caDays);
            if (days is < 1 or > 36500)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--days", days.ToString(CultureInfo.InvariantCulture),
                    "is out of range", "use 1 to 36500 days (default 3650, as seed 003)"));
            if ((rootCert is null) != (rootKey is null))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, rootCert is null ? "--root-cert" : "--root-key", null,
                    "is missing: an existing root needs both its certificate and its key", "give both --root-cert and --root-key, or neither for a new root"));
            var dir = r.GetValue(caOut)!.FullName;
            // Existing key material is never replaced silently (issue 10, defect 1): refuse before generating anything.
            var clash = MeshCertificateAuthority.ExistingKeyFiles(dir, r.GetValue(caClusters) ?? Array.Empty<string>(), includeRootKey: rootCert is null);
            if (clash.Count > 0 && !r.GetValue(caForce))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.Conflict, "--out", dir,
                    $"already holds key material ({string.Join(", ", clash.Select(f => Path.GetRelativePath(dir, f)))}); replacing it makes every certificate issued under it stop verifying",
                    "issue under the existing root with --root-cert root-cert.pem --root-key root-key.pem (and a cluster not issued yet), write to another --out, or pass --force to replace it"));
            // Every key (a new root's and the intermediates') is generated on every core at once.
            var caNames = r.GetValue(caClusters) ?? Array.Empty<string>();
            MeshCertificateAuthority authority;
            if (rootCert is not null)
            {
                authority = MeshCertificateAuthority.Load(rootCert.FullName, rootKey!.FullName, days, "--root-cert", "--root-key");
                authority.IssueAll(caNames);
            }
            else authority = MeshCertificateAuthority.Create(r.GetValue(caAlgorithm) == "ecdsa-p256" ? KeyAlgorithm.EcdsaP256 : KeyAlgorithm.Rsa4096, days, "Istio", caNames);
            var inputs = new List<string>();
            if (rootCert is not null) inputs.AddRange(new[] { rootCert.FullName, rootKey!.FullName });
            foreach (var f in r.GetValue(caTrust) ?? Array.Empty<FileInfo>())
            {
                authority.TrustAlso(PemMaterial.ReadFile(f.FullName, "--trust-also"), "--trust-also", f.FullName);
                inputs.Add(f.FullName);
            }
            var files = authority.Files(includeRootKey: rootCert is null);
            // A CA folder gains intermediates: what meshfed wrote there before stays unless replaced (KeepExisting).
            var options = WriteOptions("--out", interrupts, stderr, inputs) with
            {
                KeepExisting = true,
                ReplaceForeign = r.GetValue(caForce),
                PrivateFiles = files.Where(f => f.Value.Private).Select(f => f.Key).ToHashSet(StringComparer.Ordinal),
            };
            OutputFolderResult written;
            using (interrupts.Writing()) written = OutputFolder.Write(dir, files.ToDictionary(f => f.Key, f => f.Value.Content, StringComparer.Ordinal), options);
            foreach (var path in written.Written)
            {
                var rel = Path.GetRelativePath(dir, path).Replace(Path.DirectorySeparatorChar, '/');
                stdout.WriteLine($"wrote {path}{(files.TryGetValue(rel, out var f) && f.Private ? " (0600)" : "")}");
            }
            return ExitOk;
        }, interrupts));

        ca.Subcommands.Add(RotateCommand(yaml, stdout, stderr));

        var migrate = MigrateCommand(yaml, stdout, stderr, interrupts);

        var root = new RootCommand("meshfed: federate service meshes across Kubernetes and OpenShift clusters.") { render, validate, check, proxy, apply, planCommand, delete, discover, graph, ca, migrate, RemoteSecretCommand(yaml, stdout, stderr) };
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) stderr.WriteLine($"meshfed: {e.Message}");
            return ExitBadInput;
        }
        return parse.Invoke(config);
    }

    /// <summary>key=value labels (repeatable option); null when none.</summary>
    private static Dictionary<string, string>? ParseLabels(string[]? values, string field)
    {
        if (values is not { Length: > 0 }) return null;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var eq = v.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, field, v, "is not key=value", "give a label as key=value, e.g. mesh=federated"));
            labels[v[..eq]] = v[(eq + 1)..];
        }
        return labels;
    }

    /// <summary>
    /// meshfed migrate: an OSSM 2 federation (a topology, or read from the clusters of --context) to the OSSM 3
    /// federation style: ossm3-topology.yaml, the steps' manifests and patches, and MIGRATION.md with the guide's steps.
    /// </summary>
    private static Command MigrateCommand(IYamlBridge yaml, TextWriter stdout, TextWriter stderr, Interrupts interrupts)
    {
        var topology = new Argument<FileInfo?>("topology") { Description = "The OSSM 2 federation's topology (or give --context).", Arity = ArgumentArity.ZeroOrOne };
        var contexts = new Option<string[]>("--context") { Description = "Read the OSSM 2 federation from these contexts (one per cluster).", AllowMultipleArgumentsPerToken = true };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Kubeconfig file for --context." };
        var inCluster = InClusterOption();
        var outDir = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder for MIGRATION.md, ossm3-topology.yaml and the steps' files.", Required = true };
        var version = new Option<string>("--version") { Description = "The OSSM 3 Istio version (Sail spec.version).", DefaultValueFactory = _ => MeshFederation.Engine.Migration.MigrationOptions.DefaultVersion };
        var name = new Option<string?>("--name") { Description = "Name of the OSSM 3 topology." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show the steps and the files that would be written; write nothing." };
        var command = new Command("migrate", "Turn an OSSM 2 federation into the OSSM 3 federation style: the OSSM 3 topology, its manifests and the migration guide's steps (what to apply where, what to verify, how to roll back). Changes nothing in the clusters.")
        {
            topology, contexts, kubeconfig, inCluster, outDir, version, name, dryRun,
        };
        command.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var file = r.GetValue(topology);
            var ctx = r.GetValue(contexts) ?? Array.Empty<string>();
            if ((file is null) == (ctx.Length == 0))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, file is null ? "topology" : "--context", file?.Name,
                    file is null ? "nothing to migrate" : "a topology and --context exclude each other", "give the OSSM 2 federation's topology, or --context for each of its clusters"));
            Engine.Migration.Ossm2Federation source;
            if (file is not null) source = Engine.Migration.Ossm2Federation.FromSet(TopologyLoader.LoadFile(file.FullName, yaml));
            else
            {
                var log = new CliLog(stderr);
                var kc = r.GetValue(kubeconfig)?.FullName;
                using var connections = new ClusterConnections(yaml, kc, new KubeClientOptions(), log, r.GetValue(inCluster));
                source = await Engine.Migration.Ossm2Federation.DiscoverAsync(connections, ctx.Select(c => new ClusterBinding(c) { Context = c, KubeConfig = kc }), log, ct).ConfigureAwait(false);
            }
            var migration = Engine.Migration.Ossm3Migration.Create(source, new Engine.Migration.MigrationOptions { Version = r.GetValue(version)!, Name = r.GetValue(name) }, yaml);
            var dir = r.GetValue(outDir)!.FullName;
            if (r.GetValue(dryRun))
                foreach (var (path, content) in migration.Files)
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"would write {Path.Combine(dir, path)} ({content.Length} bytes)"));
            else
            {
                // All or nothing, as render: files meshfed did not write, and the topology read, are never overwritten.
                var options = WriteOptions("--out", interrupts, stderr, file is null ? Array.Empty<string>() : new[] { file.FullName });
                OutputFolderResult written;
                using (interrupts.Writing()) written = OutputFolder.Write(dir, migration.Files, options);
                foreach (var f in written.Written) stdout.WriteLine($"wrote {f}");
            }
            foreach (var step in migration.Steps)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step.Number}: {step.Title} ({step.Actions.Count} action(s), {step.Verify.Count} check(s){(step.Rollback.Count > 0 ? ", rollback" : "")})"));
            foreach (var p in migration.Manifests.Pending.Where(p => p.Defers)) stderr.WriteLine($"pending: {p}");
            foreach (var n in migration.Notes) stderr.WriteLine($"note: {n}");
            stdout.WriteLine($"next: read {Path.Combine(dir, Engine.Migration.Ossm3Migration.PlanFile)} and run the steps in order");
            return ExitOk;
        }));
        return command;
    }

    /// <summary>
    /// meshfed ca rotate: one phase of a shared root's rotation across the clusters of a mesh (trust-add, reissue,
    /// trust-remove), planned, confirmed (--yes, or y at the prompt), applied, verified, recorded in the clusters; or
    /// --status: where the rotation stands.
    /// </summary>
    private static Command RotateCommand(IYamlBridge yaml, TextWriter stdout, TextWriter stderr)
    {
        var phase = new Option<string?>("--phase") { Description = "trust-add, reissue or trust-remove (in this order; each is gated on the previous one being in force)." };
        phase.AcceptOnlyFromAmong("trust-add", "reissue", "trust-remove");
        var status = new Option<bool>("--status") { Description = "Show where the rotation stands on every cluster; change nothing." };
        var contexts = new Option<string[]>("--context") { Description = "Every cluster of the mesh (kubeconfig contexts; repeatable).", AllowMultipleArgumentsPerToken = true, Required = true };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Kubeconfig file ($KUBECONFIG, ~/.kube/config by default)." };
        var ns = new Option<string>("--namespace", "-n") { Description = "The control plane's namespace (cacerts, istio-ca-root-cert, the rotation's ConfigMap).", DefaultValueFactory = _ => "istio-system" };
        var newCert = new Option<FileInfo?>("--new-root-cert") { Description = "The new root's certificate (root-cert.pem of meshfed ca --out NEW); trust-add needs it." };
        var newKey = new Option<FileInfo?>("--new-root-key") { Description = "The new root's key (root-key.pem); reissue needs it with --new-root-cert. Never written to a cluster." };
        var days = new Option<int>("--days") { Description = "Validity of the re-issued intermediates in days (capped at the new root's end).", DefaultValueFactory = _ => 3650 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every istiod to take up the phase.", DefaultValueFactory = _ => 300 };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check the gates and print the plan; change nothing." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Apply without asking." };
        var mesh = new Option<string?>("--mesh") { Description = "OSSM 2 federation: rotate this mesh's root (its ServiceMeshControlPlane's name) in its peers' <peer>-ca-root-cert ConfigMaps; give the contexts of the mesh's cluster and of every peer's cluster." };
        var adopt = new Option<bool>("--adopt") { Description = "With --mesh: take over peer ConfigMaps meshfed did not create (their content is kept)." };
        var command = new Command("rotate", "Rotate the mesh's shared root without downtime, one gated phase at a time: trust-add (every trust bundle gets the new root), reissue (every intermediate under the new root), trust-remove (the old root goes). The state lives in ConfigMap meshfed-root-rotation of every cluster, so it resumes from any machine.")
        {
            phase, status, contexts, kubeconfig, ns, newCert, newKey, days, timeout, dryRun, yes, mesh, adopt,
        };
        command.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var d = r.GetValue(days);
            if (d is < 2 or > 36500)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--days", d.ToString(CultureInfo.InvariantCulture), "is out of range", "use 2 to 36500 days (default 3650)"));
            var t = r.GetValue(timeout);
            if (t is < 1 or > 86400)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--timeout", t.ToString(CultureInfo.InvariantCulture), "is out of range", "use 1 to 86400 seconds"));
            if (r.GetValue(status) == (r.GetValue(phase) is not null))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--phase", r.GetValue(phase),
                    r.GetValue(status) ? "and --status exclude each other" : "is required", "give --phase trust-add|reissue|trust-remove, or --status"));
            var log = new CliLog(stderr);
            var kc = r.GetValue(kubeconfig)?.FullName;
            using var connections = new ClusterConnections(yaml, kc, new KubeClientOptions(), log);
            if (r.GetValue(mesh) is { } meshName)
                return await PeerRootRotateAsync(connections, log, meshName, r.GetValue(adopt), r.GetValue(phase), r.GetValue(status), r.GetValue(newCert)?.FullName, r.GetValue(newKey) is not null,
                    t, r.GetValue(dryRun), r.GetValue(yes), r.GetValue(contexts)!, stdout, stderr, ct).ConfigureAwait(false);
            if (r.GetValue(adopt))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--adopt", null, "is only for OSSM 2 peer roots", "give --mesh NAME with it, or leave it out"));
            var rotation = new Engine.Rotation.RootRotation(connections, r.GetValue(contexts)!.Select(c => new ClusterBinding(c) { Context = c }),
                new Engine.Rotation.RootRotationOptions { Namespace = r.GetValue(ns)!, ValidityDays = d, WaitTimeout = TimeSpan.FromSeconds(t) }, log);
            if (r.GetValue(status))
            {
                var st = await rotation.GetStatusAsync(ct).ConfigureAwait(false);
                WriteRows(stdout, new[] { "CLUSTER", "SIGNING ROOT", "TRUSTED", "PUBLISHED", "SERVES INTERMEDIATE", "MULTIROOT", "RECORDED" }, st.Clusters.Select(c => new[]
                {
                    c.Cluster, c.SigningRoot?.ShortFingerprint ?? "-", string.Join(",", c.TrustedRoots.Select(x => x.ShortFingerprint)), string.Join(",", c.PublishedRoots.Select(x => x.ShortFingerprint)),
                    c.ServesIntermediate switch { true => "yes", false => "no", _ => "not observed" }, c.MultiRootMesh ? "true" : "false", c.RecordedStage.ToString(),
                }));
                stdout.WriteLine($"rotation: {st}");
                return ExitOk;
            }
            var p = Engine.Rotation.RootRotation.ParsePhase(r.GetValue(phase)!, "--phase");
            var plan = await rotation.PlanAsync(p, r.GetValue(newCert)?.FullName, r.GetValue(newKey)?.FullName, ct).ConfigureAwait(false);
            return await RunRotationPhaseAsync(plan.Changes, plan.ToString(), r.GetValue(dryRun), r.GetValue(yes),
                $"Apply {Engine.Rotation.RootRotation.PhaseName(p)} to {r.GetValue(contexts)!.Length} cluster(s)?", "this phase replaces cacerts in every cluster",
                () => rotation.ApplyAsync(plan, _ => true, ct), stage => $"recorded stage {stage} in every cluster; " + stage switch
                {
                    Engine.Rotation.RotationStage.TrustAdded => "next: meshfed ca rotate --phase reissue --new-root-cert ... --new-root-key ... (same --context list)",
                    Engine.Rotation.RotationStage.Reissued => "next: meshfed ca rotate --phase trust-remove (same --context list), once every workload has a certificate from the new intermediates",
                    _ => "the rotation is complete",
                }, stdout, stderr).ConfigureAwait(false);
        }));
        return command;
    }

    /// <summary>A rotation phase planned: print the plan; unless --dry-run, ask (or --yes), apply, print the verifications and what is next.</summary>
    private static async Task<int> RunRotationPhaseAsync(IReadOnlyList<Engine.Rotation.RotationChange> changes, string planText, bool dryRun, bool yes, string question, string what,
        Func<Task<Engine.Rotation.RootRotationResult>> apply, Func<Engine.Rotation.RotationStage, string> done, TextWriter stdout, TextWriter stderr)
    {
        WriteRows(stdout, new[] { "ACTION", "CLUSTER", "KIND", "NAMESPACE", "NAME", "CHANGE" },
            changes.Select(c => new[] { c.Action.ToUpperInvariant(), c.Cluster, c.Kind, c.Namespace, c.Name, c.Description }));
        stdout.WriteLine($"plan: {planText}");
        if (dryRun) return ExitOk;
        if (!yes)
        {
            if (Console.IsInputRedirected)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--yes", null,
                    $"is required when there is no terminal to ask on: {what}", "review the plan (--dry-run), then run again with --yes"));
            stdout.Write(question + " [y/N] ");
            if (Console.ReadLine()?.Trim().ToUpperInvariant() is not ("Y" or "YES"))
            {
                stdout.WriteLine("nothing changed");
                return ExitOk;
            }
        }
        try
        {
            var result = await apply().ConfigureAwait(false);
            foreach (var v in result.Verifications) stdout.WriteLine(v.ToString());
            stdout.WriteLine(done(result.Stage));
            return ExitOk;
        }
        catch (Engine.Rotation.RotationNotVerifiedException ex)
        {
            if (ex.Result is { } res) foreach (var v in res.Verifications) stdout.WriteLine(v.ToString());
            stderr.WriteLine($"meshfed: error: {ex.Message}");
            return ExitFailed;
        }
    }

    /// <summary>meshfed ca rotate --mesh NAME: the OSSM 2 peer root rotation of one mesh (Engine.Rotation.PeerRootRotation).</summary>
    private static async Task<int> PeerRootRotateAsync(ClusterConnections connections, CliLog log, string meshName, bool adopt, string? phaseText, bool status,
        string? newCert, bool newKeyGiven, int timeoutSeconds, bool dryRun, bool yes, string[] contexts, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (newKeyGiven)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--new-root-key", null,
                "is not used with --mesh: meshfed does not write an OSSM 2 mesh's CA secret (it did not create it)",
                "leave it out; in the reissue phase replace the mesh's cacerts yourself and restart its istiod, and meshfed verifies"));
        var rotation = new Engine.Rotation.PeerRootRotation(connections, contexts.Select(c => new ClusterBinding(c) { Context = c }), meshName,
            new Engine.Rotation.PeerRootRotationOptions { Adopt = adopt, WaitTimeout = TimeSpan.FromSeconds(timeoutSeconds) }, log);
        if (status)
        {
            var st = await rotation.GetStatusAsync(ct).ConfigureAwait(false);
            stdout.WriteLine($"mesh {st.Mesh} ({st.Cluster} {st.Namespace}): signs with {st.SigningRoot?.ToString() ?? "(not observed)"} from {st.CaSecret ?? "-"}; publishes {string.Join(",", st.PublishedRoots.Select(x => x.ShortFingerprint))}");
            WriteRows(stdout, new[] { "PEER", "CLUSTER", "CONFIGMAP", "ROOTS", "MESHFED'S" }, st.Peers.Select(p => new[]
            {
                p.Peer, p.Cluster, $"{p.Namespace}/{p.ConfigMap}", p.Exists ? string.Join(",", p.Roots.Select(x => x.ShortFingerprint)) : "(missing)", p.NotOwned is null ? "yes" : "no",
            }));
            stdout.WriteLine($"rotation: {st}");
            return ExitOk;
        }
        var p = Engine.Rotation.RootRotation.ParsePhase(phaseText!, "--phase");
        var plan = await rotation.PlanAsync(p, newCert, ct).ConfigureAwait(false);
        return await RunRotationPhaseAsync(plan.Changes, plan.ToString(), dryRun, yes, $"Apply {Engine.Rotation.RootRotation.PhaseName(p)} of {meshName}'s root?",
            "this phase changes the peers' ConfigMaps", () => rotation.ApplyAsync(plan, _ => true, ct), stage => $"recorded stage {stage} in {meshName}'s namespace; " + stage switch
            {
                Engine.Rotation.RotationStage.TrustAdded => $"next: switch {meshName}'s CA to the new root (its cacerts), restart its istiod, then meshfed ca rotate --mesh {meshName} --phase reissue (same --context list)",
                Engine.Rotation.RotationStage.Reissued => $"next: once {meshName} publishes only the new root, meshfed ca rotate --mesh {meshName} --phase trust-remove (same --context list)",
                _ => "the rotation is complete",
            }, stdout, stderr).ConfigureAwait(false);
    }

    private static async Task<int> GuardAsync(TextWriter stderr, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            stderr.WriteLine($"meshfed: {ex.Message}");
            return ExitCancelled;
        }
        catch (NoMeshFoundException ex)
        {
            // Nothing to check is a failed check, not bad input and never a pass.
            stderr.WriteLine($"meshfed: error: {ex.Problem}");
            return ExitCheckFailed;
        }
        catch (MeshFederationException ex)
        {
            foreach (var p in ex.Problems) stderr.WriteLine($"meshfed: error: {p}");
            return ExitBadInput;
        }
        catch (LiveFederationException ex)
        {
            stderr.WriteLine($"meshfed: error: {ex.Message}");
            return ExitFailed;
        }
        catch (KubeApiException ex)
        {
            stderr.WriteLine($"meshfed: error: {ex.Message}");
            return ExitFailed;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"meshfed: error: {Echo.Text(ex.Message)}");
            return ExitBadInput;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Unexpected(stderr, ex);
        }
    }

    private static Option<bool> InClusterOption() => new("--in-cluster")
    {
        Description = "Use the pod's service account (in-cluster configuration) for clusters without a kubeconfig of their own; automatic when no kubeconfig exists and KUBERNETES_SERVICE_HOST is set.",
    };

    /// <summary>What was kept or is still terminating, with the reason (deleted and applied objects are counted, not listed).</summary>
    private static void WriteOutcomes(TextWriter w, IReadOnlyList<ApplyOutcome> outcomes)
    {
        foreach (var o in outcomes.Where(o => o.State is OutcomeState.Kept or OutcomeState.Terminating))
            w.WriteLine($"{(o.State == OutcomeState.Kept ? "kept" : "still terminating")}: {o.Item.Target}: {o.Reason}");
    }

    private static void WritePlan(TextWriter w, FederationPlan plan)
    {
        WriteRows(w, new[] { "ACTION", "CLUSTER", "KIND", "NAMESPACE", "NAME", "REASON" },
            plan.Items.Select(i => new[] { i.Action.ToString().ToUpperInvariant(), i.Cluster, i.Kind, i.Namespace ?? "-", i.Name, i.Reason }));
        w.WriteLine($"plan: {plan}");
    }

    private static void WriteRows(TextWriter w, string[] header, IEnumerable<string[]> rowsIn)
    {
        var rows = rowsIn.ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        void Line(string[] cells) => w.WriteLine(string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        Line(header);
        foreach (var r in rows) Line(r);
    }

    /// <summary>
    /// Judges every object the topology renders by the upstream schemas (offline: bad input is refused with field,
    /// value, fix and file:line before anything is written) while the clusters are connected to and their
    /// discovery is read (reads only; <see cref="LiveFederation.ConnectAsync"/> never throws). Before the first
    /// connection, the machine trust store is either left out (every context names its CA) or loaded in the background
    /// (<see cref="SystemTrustStore.Prepare"/>). Returns the connecting task, to be awaited once the plan is done.
    /// </summary>
    private static Task JudgeWhileConnecting(LiveFederation live, FederationSet set, ClusterConnections connections, CliLog log, CancellationToken ct)
    {
        log.Debug(SystemTrustStore.Prepare(connections.ContextsFor(set.ControlPlanes.Select(c => c.Cluster))));
        var connecting = Task.Run(() => live.ConnectAsync(set, ct), CancellationToken.None);
        Ossm2Renderer.Validate(set);
        return connecting;
    }

    /// <summary>Engine messages for the CLI: warnings always, verbose with MESHFED_VERBOSE=1; never secrets (the engine sends none).</summary>
    private sealed class CliLog : Engine.Diagnostics.IMeshLog
    {
        private readonly TextWriter _err;
        private readonly bool _verbose = Environment.GetEnvironmentVariable("MESHFED_VERBOSE") is "1" or "true";

        // MESHFED_TIMING=1: every verbose and debug message (each request, each phase of plan and apply) with the time
        // since the process started and the process's CPU time so far, for profiling a cold run.
        private readonly DateTime? _started = Environment.GetEnvironmentVariable("MESHFED_TIMING") is "1" or "true"
            ? System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime() : null;

        public CliLog(TextWriter err) => _err = err;

        public void Verbose(string message)
        {
            if (_started is not null) Timed(message);
            else if (_verbose) lock (_err) _err.WriteLine("meshfed: " + message);
        }

        public void Debug(string message) { if (_started is not null) Timed(message); }

        private void Timed(string message)
        {
            var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
            var at = (DateTime.UtcNow - _started!.Value).TotalMilliseconds;
            lock (_err) _err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"meshfed: timing {at,7:0.0} ms, cpu {cpu,6:0.0} ms: {message}"));
        }

        public void Warning(string message) { lock (_err) _err.WriteLine("meshfed: warning: " + message); }

        public void Progress(Engine.Diagnostics.MeshProgress progress)
        {
            if (_verbose && !progress.Completed) lock (_err) _err.WriteLine($"meshfed: {progress.Activity}: {progress.Status}");
        }
    }

    private static int Guard(TextWriter stderr, Func<int> action, Interrupts? interrupts = null)
    {
        try
        {
            return action();
        }
        catch (OperationCanceledException) when (interrupts?.Signal is not null)
        {
            stderr.WriteLine($"meshfed: interrupted ({interrupts.Signal}); nothing was changed: the output folder keeps its previous files");
            return interrupts.ExitCode;
        }
        catch (MeshFederationException ex)
        {
            foreach (var p in ex.Problems) stderr.WriteLine($"meshfed: error: {p}");
            return ExitBadInput;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"meshfed: error: {Echo.Text(ex.Message)}");
            return ExitBadInput;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Unexpected(stderr, ex);
        }
    }

    /// <summary>A bug, reported in one line (no stack trace unless MESHFED_VERBOSE=1), exit 1.</summary>
    private static int Unexpected(TextWriter stderr, Exception ex)
    {
        stderr.WriteLine($"meshfed: error: unexpected {ex.GetType().Name}: {Echo.Text(ex.Message)}. This is a bug in meshfed; please report it with the command line (MESHFED_VERBOSE=1 shows details).");
        if (Environment.GetEnvironmentVariable("MESHFED_VERBOSE") is "1" or "true") stderr.WriteLine(ex.ToString());
        return ExitFailed;
    }

    private static OutputFolderOptions WriteOptions(string field, Interrupts interrupts, TextWriter stderr, IEnumerable<string> inputs) => new()
    {
        Field = field,
        Inputs = inputs.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList(),
        CurrentDirectory = Environment.CurrentDirectory,
        CancellationToken = interrupts.Token,
        Log = Environment.GetEnvironmentVariable("MESHFED_VERBOSE") is "1" or "true" ? m => stderr.WriteLine("meshfed: " + m) : null,
    };

    /// <summary>The files a render reads: the topology and every file its objects came from. They are never overwritten.</summary>
    private static IEnumerable<string> Inputs(FederationSet set, string topology) =>
        new[] { topology }.Where(File.Exists).Concat(FederationSet.SourceFiles(set.AllObjects()));

    private static void WriteTable(TextWriter w, IReadOnlyList<MeshCheckResult> results)
    {
        // Streams the rows (no per-cell copies): a check of 200 meshes all peered prints 160,000 of them.
        static string Status(CheckStatus s) => s switch { CheckStatus.Pass => "PASS", CheckStatus.Warn => "WARN", CheckStatus.Fail => "FAIL", _ => "SKIP" };
        int wStatus = "STATUS".Length, wCheck = "CHECK".Length, wMesh = "MESH".Length, wPeer = "PEER".Length;
        int pass = 0, fail = 0, warn = 0, skip = 0;
        foreach (var r in results)
        {
            wCheck = Math.Max(wCheck, r.CheckId.Length);
            wMesh = Math.Max(wMesh, r.Mesh.Length);
            wPeer = Math.Max(wPeer, (r.Peer ?? "-").Length);
            switch (r.Status) { case CheckStatus.Pass: pass++; break; case CheckStatus.Fail: fail++; break; case CheckStatus.Warn: warn++; break; default: skip++; break; }
        }
        // Written in pieces of about 64K characters (a 200-mesh check prints 15 MB: no one string of it all).
        var sb = new System.Text.StringBuilder(1 << 17);
        void Cell(string text, int width) => sb.Append(text).Append(' ', width - text.Length + 2);
        void Line(string status, string check, string mesh, string peer, string message)
        {
            Cell(status, wStatus);
            Cell(check, wCheck);
            Cell(mesh, wMesh);
            Cell(peer, wPeer);
            sb.Append(message);
            var end = sb.Length;
            while (end > 0 && sb[end - 1] == ' ') end--;
            sb.Length = end;
            sb.Append('\n');
            if (sb.Length < 1 << 16) return;
            w.Write(sb);
            sb.Clear();
        }
        Line("STATUS", "CHECK", "MESH", "PEER", "MESSAGE");
        foreach (var r in results) Line(Status(r.Status), r.CheckId, r.Mesh, r.Peer ?? "-", r.Message);
        sb.Append(CultureInfo.InvariantCulture, $"{pass} passed, {fail} failed, {warn} warnings, {skip} skipped\n");
        w.Write(sb);
    }
}
