using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Live;

/// <summary>One Kubernetes client per cluster binding (kubeconfig file + context), created on first use.</summary>
public sealed class ClusterConnections : IDisposable
{
    private readonly IYamlBridge _yaml;
    private readonly string? _kubeConfigOverride;
    private readonly KubeClientOptions _options;
    private readonly IMeshLog _log;
    private readonly Dictionary<string, KubeConfig> _configs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KubeClient> _clients = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly bool _inCluster;
    private readonly IReadOnlyDictionary<string, string?>? _environment;
    private string? _inClusterFor;

    /// <summary>
    /// Connections for the bindings; <paramref name="kubeConfigOverride"/> replaces every binding's kubeconfig
    /// (-KubeConfig / --kubeconfig). With <paramref name="inCluster"/> (-InCluster / --in-cluster) the bindings without
    /// a kubeconfig of their own use the pod's service account; that also happens by itself when no kubeconfig file
    /// exists and KUBERNETES_SERVICE_HOST is set, as client-go does. <paramref name="environment"/> replaces the process
    /// environment (tests).
    /// </summary>
    public ClusterConnections(IYamlBridge yaml, string? kubeConfigOverride = null, KubeClientOptions? options = null, IMeshLog? log = null,
        bool inCluster = false, IReadOnlyDictionary<string, string?>? environment = null)
    {
        _yaml = yaml;
        _kubeConfigOverride = kubeConfigOverride;
        _options = options ?? new KubeClientOptions();
        _log = log ?? NullMeshLog.Instance;
        _inCluster = inCluster;
        _environment = environment;
    }

    /// <summary>The YAML parser the kubeconfigs are read with (also for kubeconfigs found elsewhere, e.g. in remote secrets).</summary>
    public IYamlBridge Yaml => _yaml;

    public IReadOnlyCollection<KubeClient> Clients { get { lock (_gate) return _clients.Values.Distinct().ToList(); } }

    /// <summary>The client of a cluster: its context (default: the cluster name) in its kubeconfig.</summary>
    public KubeClient For(ClusterBinding binding)
    {
        var file = _kubeConfigOverride ?? binding.KubeConfig;
        var context = binding.Context ?? binding.Name;
        var key = (file ?? "") + "|" + context;
        lock (_gate)
        {
            if (_clients.TryGetValue(key, out var known)) return known;
            if (_inCluster && _kubeConfigOverride is not null)
                throw new Validation.MeshFederationException(new Validation.MeshProblem(Validation.MeshErrorKind.InvalidArgument, "InCluster", null,
                    "cannot be combined with a kubeconfig (-KubeConfig / --kubeconfig)", "use one of them: in-cluster configuration or the kubeconfig file"));
            if (file is null && (_inCluster || (!KubeConfig.AnyFileExists(null, _environment) && KubeConfig.InClusterAvailable(_environment))))
            {
                // One pod reaches one cluster: two differently named clusters cannot both be "this cluster".
                if (_inClusterFor is not null && _inClusterFor != binding.Name)
                    throw new Validation.MeshFederationException(new Validation.MeshProblem(Validation.MeshErrorKind.InvalidArgument, $"cluster '{binding.Name}'", null,
                        $"has no kubeconfig, and the in-cluster configuration already serves cluster '{_inClusterFor}' (a pod reaches only the cluster it runs in)",
                        "give the other clusters a kubeconfig (clusters[].kubeconfig in the topology, or -KubeConfig / --kubeconfig without in-cluster)"));
                _inClusterFor = binding.Name;
                if (!_clients.TryGetValue("in-cluster", out var pod))
                {
                    var inCluster = KubeConfig.InCluster(_environment);
                    _log.Verbose($"Cluster {binding.Name}: in-cluster configuration (service account of namespace {inCluster.Namespace}), server {inCluster.Server}");
                    pod = new KubeClient(inCluster, _options, _log);
                    _clients["in-cluster"] = pod;
                }
                _clients[key] = pod;
                return pod;
            }
            KubeClient client;
            var configKey = file ?? "";
            if (!_configs.TryGetValue(configKey, out var config)) _configs[configKey] = config = KubeConfig.Load(file, _yaml, _environment);
            var ctx = config.Resolve(context);
            _log.Verbose($"Cluster {binding.Name}: context {ctx.Name}, server {ctx.Server}");
            client = new KubeClient(ctx, _options, _log);
            _clients[key] = client;
            return client;
        }
    }

    /// <summary>
    /// The contexts of these bindings (their clients are created, nothing is connected), or null when one cannot be
    /// resolved (the first request reports why). For <see cref="SystemTrustStore.Prepare"/>.
    /// </summary>
    public IReadOnlyList<KubeContext>? ContextsFor(IEnumerable<ClusterBinding> bindings)
    {
        try
        {
            return bindings.Select(b => For(b).Context).Distinct().ToList();
        }
        catch (Validation.MeshFederationException)
        {
            return null;
        }
    }

    /// <summary>Would a binding without a kubeconfig use the in-cluster configuration (asked for, or no kubeconfig exists in a pod)?</summary>
    public bool UsesInCluster => _inCluster || (_kubeConfigOverride is null && !KubeConfig.AnyFileExists(null, _environment) && KubeConfig.InClusterAvailable(_environment));

    /// <summary>The kubeconfig contexts available (for argument completion).</summary>
    public static IReadOnlyList<string> ContextNames(IYamlBridge yaml, string? kubeConfig)
    {
        try
        {
            return KubeConfig.Load(kubeConfig, yaml).ContextNames.Order(StringComparer.Ordinal).ToList();
        }
        catch (Validation.MeshFederationException)
        {
            return Array.Empty<string>();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var c in _clients.Values.Distinct()) c.Dispose();
            _clients.Clear();
        }
    }
}
