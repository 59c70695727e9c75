using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;
using static MeshFederation.Engine.Rendering.JsonBuilder;

namespace MeshFederation.Engine.Distribution;

/// <summary>What a distribution render writes: the GitOps tree, and (apart from it) the Secrets holding keys or tokens.</summary>
public sealed class DistributionOutput
{
    /// <summary>The tree (relative path with '/' to content): safe to commit, holds no private key or token.</summary>
    public required IReadOnlyDictionary<string, string> Files { get; init; }

    /// <summary>Secrets holding private keys or tokens (relative path to content), for a separate 0600 folder outside the tree; empty when there are none.</summary>
    public required IReadOnlyDictionary<string, string> SecretFiles { get; init; }

    /// <summary>The objects each file of the tree holds, in apply order (for tests and the summary).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<RenderedManifest>> Objects { get; init; } = new Dictionary<string, IReadOnlyList<RenderedManifest>>();
}

/// <summary>
/// Lays a render out for the engines platform teams run (issue 17): a kustomize tree whose <c>kubectl kustomize
/// clusters/&lt;cluster&gt;</c> prints the per-cluster render in the same order (sortOptions fifo), the same tree with Argo
/// CD sync waves and an ApplicationSet, or one ManifestWork per managed cluster for an Open Cluster Management hub.
/// Secrets holding private keys or tokens never enter the tree: they are returned apart, for a 0600 folder outside it.
/// Every generated object is judged by its upstream schema (unknown fields rejected) before anything is returned.
/// </summary>
public static class DistributionRenderer
{
    public const string FederationLabel = "federation.meshfederation.io/federation";
    public const string PartLabel = "federation.meshfederation.io/part";
    public const string SyncWaveAnnotation = "argocd.argoproj.io/sync-wave";
    public const string SyncOptionsAnnotation = "argocd.argoproj.io/sync-options";
    public const string SkipDryRun = "SkipDryRunOnMissingResource=true";
    public const string SecretsReadme = "README.md";

    /// <summary>The feedback rule names the OCM hub checks read (OcmHubChecks).</summary>
    internal static class Feedback
    {
        public const string Ready = "ready";
        public const string ReadyReason = "readyReason";
        public const string ReadyMessage = "readyMessage";
        public const string ReadyComponents = "readyComponents";
        public const string DiscoveryStatus = "discoveryStatus";
        public const string ActivePod = "activePod";
        public const string WatchConnected = "watchConnected";
        public const string RemoteConnected = "remoteConnected";
        public const string LastFullSync = "lastFullSync";
        public const string InactivePod = "inactivePod";
        public const string ExportedServices = "exportedServices";
        public const string ImportedServices = "importedServices";
    }

    public static DistributionOutput Render(RenderResult result, DistributionFormat format, DistributionOptions options, IYamlBridge yaml)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(yaml);
        var output = format switch
        {
            DistributionFormat.Kustomize => Kustomize(result, options, yaml, argo: false),
            DistributionFormat.ArgoCD => Kustomize(result, options, yaml, argo: true),
            DistributionFormat.Ocm => Ocm(result, options, yaml),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "the files format is written by ManifestEmitter"),
        };
        return output;
    }

    /// <summary>A name safe as a DNS label (lower case, digits, '-'), at most <paramref name="max"/> characters.</summary>
    public static string SafeName(string value, int max = 63)
    {
        var sb = new StringBuilder();
        foreach (var c in value.ToLowerInvariant())
            sb.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-');
        var s = sb.ToString().Trim('-');
        while (s.Contains("--", StringComparison.Ordinal)) s = s.Replace("--", "-", StringComparison.Ordinal);
        if (s.Length == 0) s = "federation";
        return s.Length <= max ? s : s[..max].TrimEnd('-');
    }

    /// <summary>The file name of one object in a cluster folder: its place in the apply order, kind and name.</summary>
    internal static string ObjectFileName(int index, RenderedManifest m)
    {
        var name = new StringBuilder();
        foreach (var c in (m.Namespace is null ? m.Name : $"{m.Namespace}-{m.Name}").ToLowerInvariant())
            name.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' ? c : '-');
        return string.Create(CultureInfo.InvariantCulture, $"{index:D3}-{m.Kind.ToLowerInvariant()}-{name}.yaml");
    }

    /// <summary>True for kinds whose CRDs arrive with an operator (not built into Kubernetes): Argo CD's dry run cannot know them before the operator runs.</summary>
    public static bool IsOperatorKind(string apiVersion)
    {
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return false;
        var group = apiVersion[..slash];
        return group.Contains('.', StringComparison.Ordinal) && !group.EndsWith(".k8s.io", StringComparison.Ordinal);
    }

    /// <summary>The apply level of an object (0 namespaces ... 7 routes): the Argo CD sync wave.</summary>
    public static int Wave(RenderedManifest m) => m.Order / 10;

    private static string Emit(IYamlBridge yaml, JsonObject o) => yaml.Emit(new JsonNode[] { o });

    private static DistributionOutput Kustomize(RenderResult result, DistributionOptions options, IYamlBridge yaml, bool argo)
    {
        if (argo) options.Validate(DistributionFormat.ArgoCD, f => f);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var secrets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var objects = new Dictionary<string, IReadOnlyList<RenderedManifest>>(StringComparer.Ordinal);
        foreach (var c in result.Clusters)
        {
            var dir = $"clusters/{c.Cluster}";
            var resources = new List<string>();
            var kept = new List<RenderedManifest>();
            var index = 0;
            foreach (var m in c.Documents)
            {
                index++;
                var file = ObjectFileName(index, m);
                if (m.Sensitive)
                {
                    secrets[$"{c.Cluster}/{file}"] = Emit(yaml, m.Content);
                    continue;
                }
                var content = m.GetContent();
                if (argo) Annotate(content, m);
                files[$"{dir}/{file}"] = Emit(yaml, content);
                resources.Add(file);
                kept.Add(m);
            }
            var kustomization = new JsonObject
            {
                ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
                ["kind"] = "Kustomization",
                // Keep our apply order: kustomize's default (legacy) order sorts by kind and would put, e.g., the
                // ServiceMeshPeers before the ConfigMaps holding the peers' roots.
                ["sortOptions"] = new JsonObject { ["order"] = "fifo" },
                ["resources"] = Strings(resources),
            };
            files[$"{dir}/kustomization.yaml"] =
                $"# Generated by MeshFederation from '{result.Name}' for cluster '{c.Cluster}': {kept.Count} objects in apply order.\n" +
                $"# kubectl kustomize {dir} prints them in that order; apply with kubectl apply --server-side -k {dir}\n" +
                Emit(yaml, kustomization);
            objects[dir] = kept;
        }
        if (argo)
        {
            var appSet = ApplicationSet(result, options);
            Judge(appSet, "argocd/applicationset.yaml");
            files["argocd/applicationset.yaml"] = Emit(yaml, appSet);
        }
        foreach (var (path, content) in result.ExtraFiles) files[path] = content;
        if (secrets.Count > 0) secrets[SecretsReadme] = SecretsText(result, argo ? DistributionFormat.ArgoCD : DistributionFormat.Kustomize);
        files[ManifestEmitter.SummaryFileName] = Summary(result, argo ? DistributionFormat.ArgoCD : DistributionFormat.Kustomize, options, objects, secrets.Keys.Where(k => k != SecretsReadme).ToList());
        return new DistributionOutput { Files = files, SecretFiles = secrets, Objects = objects };
    }

    /// <summary>Argo CD: the sync wave of the object's apply level, and no dry run for kinds an operator installs.</summary>
    private static void Annotate(JsonObject content, RenderedManifest m)
    {
        var metadata = content["metadata"] as JsonObject ?? new JsonObject();
        content["metadata"] = metadata;
        var annotations = metadata["annotations"] as JsonObject ?? new JsonObject();
        metadata["annotations"] = annotations;
        annotations[SyncWaveAnnotation] = Wave(m).ToString(CultureInfo.InvariantCulture);
        if (IsOperatorKind(m.ApiVersion))
        {
            var existing = annotations[SyncOptionsAnnotation]?.GetValue<string>();
            annotations[SyncOptionsAnnotation] = string.IsNullOrEmpty(existing) ? SkipDryRun
                : existing.Contains(SkipDryRun, StringComparison.Ordinal) ? existing : existing + "," + SkipDryRun;
        }
    }

    private static JsonObject ApplicationSet(RenderResult result, DistributionOptions options)
    {
        var fed = SafeName(result.Name, 40);
        var path = options.RepoPath.Trim('/');
        JsonObject generator = options.ClusterSelector is { Count: > 0 } selector
            ? new JsonObject
            {
                ["clusters"] = new JsonObject
                {
                    ["selector"] = new JsonObject
                    {
                        ["matchLabels"] = new JsonObject(selector.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                            .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
                    },
                },
            }
            : new JsonObject
            {
                ["list"] = new JsonObject
                {
                    ["elements"] = Arr(result.Clusters.Select(c => (JsonNode?)new JsonObject { ["name"] = c.Cluster })),
                },
            };
        var labels = new JsonObject { [ManagedByLabel] = ManagedByValue, [FederationLabel] = SafeName(result.Name) };
        return new JsonObject
        {
            ["apiVersion"] = "argoproj.io/v1alpha1",
            ["kind"] = "ApplicationSet",
            ["metadata"] = new JsonObject { ["name"] = $"meshfed-{fed}", ["namespace"] = options.ArgoNamespace, ["labels"] = labels },
            ["spec"] = new JsonObject
            {
                ["generators"] = new JsonArray(generator),
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = $"meshfed-{fed}-{{{{name}}}}",
                        ["labels"] = labels.DeepClone(),
                    },
                    ["spec"] = new JsonObject
                    {
                        ["project"] = options.ArgoProject,
                        ["source"] = new JsonObject
                        {
                            ["repoURL"] = options.RepoUrl,
                            ["targetRevision"] = options.Revision,
                            ["path"] = (path.Length == 0 ? "" : path + "/") + "clusters/{{name}}",
                        },
                        ["destination"] = new JsonObject { ["name"] = "{{name}}" },
                        ["syncPolicy"] = new JsonObject
                        {
                            // Never prune: objects dropped from the tree stay until removed on purpose (meshfed delete).
                            ["automated"] = new JsonObject { ["prune"] = false, ["selfHeal"] = true },
                            ["syncOptions"] = Strings(new[] { "ServerSideApply=true", "CreateNamespace=false" }),
                            ["retry"] = new JsonObject
                            {
                                ["limit"] = 10,
                                ["backoff"] = new JsonObject { ["duration"] = "10s", ["factor"] = 2, ["maxDuration"] = "5m" },
                            },
                        },
                    },
                },
            },
        };
    }

    private static void Judge(JsonObject obj, string where)
    {
        var problems = new ProblemList();
        foreach (var v in UpstreamSchemas.Validate(obj))
            problems.Add(MeshErrorKind.InvalidData, $"{where} {obj["kind"]} {v.Path}", v.Value, $"{v.Problem} ({obj["apiVersion"]} {obj["kind"]} schema)", v.Fix);
        problems.ThrowIfAny();
    }

    // ---------------------------------------------------------------- OCM

    /// <summary>The API resource (plural, lower case) of a kind, as ManifestWork resource identifiers name it.</summary>
    public static string Resource(string kind)
    {
        var k = kind.ToLowerInvariant();
        return k.EndsWith('y') && !k.EndsWith("ay", StringComparison.Ordinal) && !k.EndsWith("ey", StringComparison.Ordinal) ? k[..^1] + "ies"
            : k.EndsWith('s') ? k + "es" : k + "s";
    }

    private static string GroupOf(string apiVersion) => apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "";

    private static DistributionOutput Ocm(RenderResult result, DistributionOptions options, IYamlBridge yaml)
    {
        options.Validate(DistributionFormat.Ocm, f => f);
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var secrets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var objects = new Dictionary<string, IReadOnlyList<RenderedManifest>>(StringComparer.Ordinal);
        var fed = SafeName(result.Name, 40);
        var hubResources = new List<string>();
        foreach (var c in result.Clusters)
        {
            CheckUnique(c);
            var works = Split(c.Documents.Where(d => !d.Sensitive).ToList(), c.Cluster, $"meshfed-{fed}", fed, options, out var parts);
            for (var i = 0; i < works.Count; i++)
            {
                var name = works[i]["metadata"]!["name"]!.GetValue<string>();
                var path = $"manifestworks/{c.Cluster}/{name}.yaml";
                files[path] = Emit(yaml, works[i]);
                objects[path] = parts[i];
                hubResources.Add($"manifestworks/{c.Cluster}/{name}.yaml");
            }
            var sensitive = c.Documents.Where(d => d.Sensitive).ToList();
            if (sensitive.Count > 0)
            {
                // The Secrets travel in their own ManifestWork, applied to the hub from the 0600 folder (never committed).
                var secretWorks = Split(sensitive, c.Cluster, $"meshfed-{fed}-secrets", fed, options, out _);
                foreach (var w in secretWorks)
                    secrets[$"{c.Cluster}/{w["metadata"]!["name"]!.GetValue<string>()}.yaml"] = Emit(yaml, w);
            }
        }
        if (options.ClusterSet is { } set)
        {
            var binding = new JsonObject
            {
                ["apiVersion"] = "cluster.open-cluster-management.io/v1beta2",
                ["kind"] = "ManagedClusterSetBinding",
                ["metadata"] = new JsonObject { ["name"] = set, ["namespace"] = options.PlacementNamespace, ["labels"] = Labels(fed) },
                ["spec"] = new JsonObject { ["clusterSet"] = set },
            };
            var placement = new JsonObject
            {
                ["apiVersion"] = "cluster.open-cluster-management.io/v1beta1",
                ["kind"] = "Placement",
                ["metadata"] = new JsonObject { ["name"] = $"meshfed-{fed}", ["namespace"] = options.PlacementNamespace, ["labels"] = Labels(fed) },
                ["spec"] = new JsonObject
                {
                    ["clusterSets"] = Strings(new[] { set }),
                    // Exactly the topology's clusters (ManagedClusters carry their name as the label 'name').
                    ["numberOfClusters"] = result.Clusters.Count,
                    ["predicates"] = new JsonArray(new JsonObject
                    {
                        ["requiredClusterSelector"] = new JsonObject
                        {
                            ["labelSelector"] = new JsonObject
                            {
                                ["matchExpressions"] = new JsonArray(new JsonObject
                                {
                                    ["key"] = "name", ["operator"] = "In", ["values"] = Strings(result.Clusters.Select(c => c.Cluster)),
                                }),
                            },
                        },
                    }),
                },
            };
            Judge(binding, "placement/managedclustersetbinding.yaml");
            Judge(placement, "placement/placement.yaml");
            files["placement/managedclustersetbinding.yaml"] = Emit(yaml, binding);
            files["placement/placement.yaml"] = Emit(yaml, placement);
            hubResources.Insert(0, "placement/placement.yaml");
            hubResources.Insert(0, "placement/managedclustersetbinding.yaml");
        }
        files["kustomization.yaml"] = $"# Generated by MeshFederation from '{result.Name}': the ManifestWorks for the OCM hub. Apply with: kubectl --context HUB apply --server-side -k .\n" +
            Emit(yaml, new JsonObject
            {
                ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
                ["kind"] = "Kustomization",
                ["sortOptions"] = new JsonObject { ["order"] = "fifo" },
                ["resources"] = Strings(hubResources),
            });
        foreach (var (path, content) in result.ExtraFiles) files[path] = content;
        if (secrets.Count > 0) secrets[SecretsReadme] = SecretsText(result, DistributionFormat.Ocm);
        files[ManifestEmitter.SummaryFileName] = Summary(result, DistributionFormat.Ocm, options, objects, secrets.Keys.Where(k => k != SecretsReadme).ToList());
        return new DistributionOutput { Files = files, SecretFiles = secrets, Objects = objects };
    }

    private static JsonObject Labels(string fed) => new() { [ManagedByLabel] = ManagedByValue, [FederationLabel] = fed };

    /// <summary>Every manifest of a ManifestWork must be named and unique (group, kind, namespace, name).</summary>
    private static void CheckUnique(ClusterManifests c)
    {
        var problems = new ProblemList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in c.Documents)
        {
            if (string.IsNullOrEmpty(d.Name))
                problems.Add(MeshErrorKind.InvalidData, $"{c.Cluster}: {d.Kind}", null, "has no name; every manifest of a ManifestWork must be named", "name the object");
            else if (!seen.Add($"{GroupOf(d.ApiVersion)}/{d.Kind}/{d.Namespace}/{d.Name}"))
                problems.Add(MeshErrorKind.Conflict, $"{c.Cluster}: {d.Reference}", null, "is rendered twice; the manifests of a ManifestWork must be unique",
                    "remove the duplicate from the topology");
        }
        problems.ThrowIfAny();
    }

    /// <summary>Builds the ManifestWorks of one cluster, starting a new one before a work would pass the size limit.</summary>
    private static List<JsonObject> Split(IReadOnlyList<RenderedManifest> docs, string cluster, string baseName, string fed, DistributionOptions options, out List<List<RenderedManifest>> parts)
    {
        parts = new List<List<RenderedManifest>>();
        var current = new List<RenderedManifest>();
        long size = Work(cluster, baseName + "-00", fed, 1, Array.Empty<RenderedManifest>(), options).ToJsonString().Length;
        var empty = size;
        foreach (var d in docs)
        {
            // A manifest's cost: its JSON and its manifestConfig.
            var cost = d.Content.ToJsonString().Length + Config(d, options).ToJsonString().Length + 2;
            if (empty + cost > options.MaxWorkBytes)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, $"{cluster}: {d.Reference}", null,
                    string.Create(CultureInfo.InvariantCulture, $"is {cost} bytes, too large for one ManifestWork of at most {options.MaxWorkBytes} bytes"),
                    "make the object smaller (e.g. fewer overrides) or raise the split size (OCM refuses works above 512,000 bytes)"));
            if (current.Count > 0 && size + cost > options.MaxWorkBytes)
            {
                parts.Add(current);
                current = new List<RenderedManifest>();
                size = empty;
            }
            current.Add(d);
            size += cost;
        }
        if (current.Count > 0 || parts.Count == 0) parts.Add(current);
        var works = new List<JsonObject>();
        for (var i = 0; i < parts.Count; i++)
        {
            var name = parts.Count == 1 ? baseName : string.Create(CultureInfo.InvariantCulture, $"{baseName}-{i + 1}");
            var work = Work(cluster, name, fed, i + 1, parts[i], options);
            var bytes = work.ToJsonString().Length;
            if (bytes > options.MaxWorkBytes)
                throw new InvalidOperationException($"ManifestWork {cluster}/{name} is {bytes} bytes, above {options.MaxWorkBytes}: the split is wrong");
            Judge(work, $"ManifestWork {cluster}/{name}");
            works.Add(work);
        }
        return works;
    }

    private static JsonObject Work(string cluster, string name, string fed, int part, IReadOnlyList<RenderedManifest> docs, DistributionOptions options)
    {
        var labels = Labels(fed);
        labels[PartLabel] = part.ToString(CultureInfo.InvariantCulture);
        var namespaces = docs.Where(d => d.Kind == "Namespace" && d.ApiVersion == "v1").ToList();
        var deleteOption = namespaces.Count == 0
            ? new JsonObject { ["propagationPolicy"] = "Foreground" }
            : new JsonObject
            {
                // Deleting the work deletes what it applied, except namespaces: the agent takes over a namespace that
                // already existed, and deleting it would take everything else in it along.
                ["propagationPolicy"] = "SelectivelyOrphan",
                ["selectivelyOrphans"] = new JsonObject
                {
                    ["orphaningRules"] = Arr(namespaces.Select(n => (JsonNode?)new JsonObject { ["group"] = "", ["resource"] = "namespaces", ["name"] = n.Name })),
                },
            };
        return new JsonObject
        {
            ["apiVersion"] = "work.open-cluster-management.io/v1",
            ["kind"] = "ManifestWork",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = cluster, ["labels"] = labels },
            ["spec"] = new JsonObject
            {
                ["deleteOption"] = deleteOption,
                ["manifestConfigs"] = Arr(docs.Select(d => (JsonNode?)Config(d, options))),
                ["workload"] = new JsonObject { ["manifests"] = Arr(docs.Select(d => (JsonNode?)d.GetContent())) },
            },
        };
    }

    private static JsonObject Config(RenderedManifest d, DistributionOptions options)
    {
        var id = new JsonObject { ["group"] = GroupOf(d.ApiVersion), ["resource"] = Resource(d.Kind), ["name"] = d.Name };
        if (d.Namespace is not null) id["namespace"] = d.Namespace;
        var config = new JsonObject
        {
            ["resourceIdentifier"] = id,
            ["updateStrategy"] = new JsonObject
            {
                ["type"] = "ServerSideApply",
                ["serverSideApply"] = new JsonObject { ["fieldManager"] = options.FieldManager, ["force"] = false },
            },
        };
        if (FeedbackPaths(d) is { Count: > 0 } paths)
            config["feedbackRules"] = new JsonArray(new JsonObject
            {
                ["type"] = "JSONPaths",
                ["jsonPaths"] = Arr(paths.Select(p => (JsonNode?)new JsonObject { ["name"] = p.Name, ["path"] = p.Path })),
            });
        return config;
    }

    /// <summary>The status fields the checks read, fed back to the hub: control-plane Ready, ServiceMeshPeer discovery, export/import status.</summary>
    internal static IReadOnlyList<(string Name, string Path)> FeedbackPaths(RenderedManifest d)
    {
        const string ReadyCondition = ".status.conditions[?(@.type==\"Ready\")]";
        return (GroupOf(d.ApiVersion), d.Kind) switch
        {
            ("maistra.io", "ServiceMeshControlPlane") => new[]
            {
                (Feedback.Ready, ReadyCondition + ".status"), (Feedback.ReadyReason, ReadyCondition + ".reason"),
                (Feedback.ReadyMessage, ReadyCondition + ".message"), (Feedback.ReadyComponents, ".status.annotations.readyComponentCount"),
            },
            ("sailoperator.io", "Istio" or "IstioCNI") => new[]
            {
                (Feedback.Ready, ReadyCondition + ".status"), (Feedback.ReadyReason, ReadyCondition + ".reason"), (Feedback.ReadyMessage, ReadyCondition + ".message"),
            },
            ("federation.maistra.io", "ServiceMeshPeer") => new[]
            {
                // The whole discovery status (a JSON string: the work agent's RawFeedbackJsonString feature gate), and
                // the first istiod pod's values as scalars, which every work agent reports.
                (Feedback.DiscoveryStatus, ".status.discoveryStatus"),
                (Feedback.ActivePod, ".status.discoveryStatus.active[0].pod"),
                (Feedback.WatchConnected, ".status.discoveryStatus.active[0].watch.connected"),
                (Feedback.RemoteConnected, ".status.discoveryStatus.active[0].remotes[0].connected"),
                (Feedback.LastFullSync, ".status.discoveryStatus.active[0].watch.lastFullSync"),
                (Feedback.InactivePod, ".status.discoveryStatus.inactive[0].pod"),
            },
            ("federation.maistra.io", "ExportedServiceSet") => new[] { (Feedback.ExportedServices, ".status.exportedServices") },
            ("federation.maistra.io", "ImportedServiceSet") => new[] { (Feedback.ImportedServices, ".status.importedServices") },
            _ => Array.Empty<(string, string)>(),
        };
    }

    // ---------------------------------------------------------------- text

    private static string SecretsText(RenderResult result, DistributionFormat format)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Secrets of '{result.Name}' — do not commit");
        sb.AppendLine();
        sb.AppendLine("These files hold private keys or tokens (cacerts, remote secrets). They are written 0600 and kept out of the GitOps");
        sb.AppendLine("tree on purpose. Provide them to the clusters in one of these ways:");
        sb.AppendLine();
        sb.AppendLine("- Sealed Secrets: `kubeseal --format yaml < FILE > sealed.yaml`, then commit sealed.yaml next to the cluster's objects.");
        sb.AppendLine("- External Secrets: store the values in your secret store and commit an ExternalSecret that creates a Secret of the same name, namespace and keys.");
        sb.AppendLine(format == DistributionFormat.Ocm
            ? "- Directly: `kubectl --context HUB apply --server-side -f <cluster>/` applies their ManifestWork (`meshfed-<federation>-secrets`) to the hub."
            : "- Directly: `kubectl --context <cluster> apply --server-side -f <cluster>/` before the first sync.");
        return sb.ToString();
    }

    private static string Summary(RenderResult result, DistributionFormat format, DistributionOptions options, IReadOnlyDictionary<string, IReadOnlyList<RenderedManifest>> paths, IReadOnlyList<string> secretFiles)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"# Federation '{result.Name}' — {format switch { DistributionFormat.ArgoCD => "Argo CD", DistributionFormat.Ocm => "Open Cluster Management", _ => "kustomize" }} layout");
        sb.AppendLine();
        switch (format)
        {
            case DistributionFormat.Kustomize:
                sb.AppendLine("One folder per cluster under `clusters/`; its kustomization.yaml keeps the apply order (`sortOptions: fifo`).");
                sb.AppendLine("Apply a cluster with `kubectl --context <cluster> apply --server-side -k clusters/<cluster>`.");
                break;
            case DistributionFormat.ArgoCD:
                sb.AppendLine(inv, $"Commit this folder to {options.RepoUrl} (revision {options.Revision}{(options.RepoPath.Length == 0 ? "" : $", path {options.RepoPath}")}), then create the ApplicationSet:");
                sb.AppendLine();
                sb.AppendLine(inv, $"    kubectl -n {options.ArgoNamespace} apply -f argocd/applicationset.yaml");
                sb.AppendLine();
                sb.AppendLine(options.ClusterSelector is { Count: > 0 } sel
                    ? $"The ApplicationSet's cluster generator selects the Argo CD clusters labelled {string.Join(", ", sel.Select(kv => kv.Key + "=" + kv.Value))}; each one's name must be a folder under clusters/."
                    : "The ApplicationSet's list generator names the topology's clusters; each must be registered in Argo CD under that name.");
                sb.AppendLine("Objects sync in waves that follow the apply order (argocd.argoproj.io/sync-wave: 0 namespaces ... 7 routes); kinds an operator");
                sb.AppendLine("installs carry SkipDryRunOnMissingResource=true. Argo CD has no health check for ServiceMeshControlPlane or Istio: add");
                sb.AppendLine("one (resource.customizations.health) so later waves wait for the control plane (docs/distribution.md).");
                break;
            case DistributionFormat.Ocm:
                sb.AppendLine("One ManifestWork per managed cluster in the hub namespace named after the cluster (`manifestworks/<cluster>/`), split before");
                sb.AppendLine(inv, $"{options.MaxWorkBytes} bytes. Apply them to the hub with `kubectl --context HUB apply --server-side -k .`, check with");
                sb.AppendLine("`meshfed check --ocm-hub HUB` (status feedback; the whole discovery status needs the work agent's RawFeedbackJsonString feature gate).");
                sb.AppendLine("Deleting a ManifestWork deletes what it applied, except namespaces (orphaned).");
                break;
        }
        sb.AppendLine();
        sb.AppendLine("| path | objects |");
        sb.AppendLine("|---|---|");
        foreach (var (p, docs) in paths.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.AppendLine(inv, $"| {p} | {string.Join(", ", docs.GroupBy(d => d.Kind).Select(g => g.Count() == 1 ? g.Key : $"{g.Count()} {g.Key}"))} |");
        if (secretFiles.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Secrets (not in this tree)");
            sb.AppendLine();
            sb.AppendLine("These Secrets hold private keys or tokens and were written 0600 to the separate secrets folder, never here:");
            sb.AppendLine();
            foreach (var s in secretFiles) sb.AppendLine(inv, $"- {s}");
            sb.AppendLine();
            sb.AppendLine("Provide them with Sealed Secrets (`kubeseal --format yaml < FILE > sealed.yaml`, commit sealed.yaml) or External Secrets");
            sb.AppendLine("(an ExternalSecret creating a Secret of the same name, namespace and keys from your secret store); or apply them directly,");
            sb.AppendLine(format == DistributionFormat.Ocm ? "as their own ManifestWork, to the hub (the secrets folder's README.md says how)." : "before the first sync (the secrets folder's README.md says how).");
        }
        sb.AppendLine();
        // The per-cluster objects and pending values, as the files layout describes them.
        var plain = ManifestEmitter.Summary(result);
        sb.Append(plain[(plain.IndexOf("## Objects in apply order", StringComparison.Ordinal) is var i and >= 0 ? i : 0)..]);
        return sb.ToString();
    }
}
