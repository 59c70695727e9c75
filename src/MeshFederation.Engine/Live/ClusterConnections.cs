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

    /// <summary>Connections for the bindings; <paramref name="kubeConfigOverride"/> replaces every binding's kubeconfig (-KubeConfig / --kubeconfig).</summary>
    public ClusterConnections(IYamlBridge yaml, string? kubeConfigOverride = null, KubeClientOptions? options = null, IMeshLog? log = null)
    {
        _yaml = yaml;
        _kubeConfigOverride = kubeConfigOverride;
        _options = options ?? new KubeClientOptions();
        _log = log ?? NullMeshLog.Instance;
    }

    /// <summary>The YAML parser the kubeconfigs are read with (also for kubeconfigs found elsewhere, e.g. in remote secrets).</summary>
    public IYamlBridge Yaml => _yaml;

    public IReadOnlyCollection<KubeClient> Clients { get { lock (_gate) return _clients.Values.ToList(); } }

    /// <summary>The client of a cluster: its context (default: the cluster name) in its kubeconfig.</summary>
    public KubeClient For(ClusterBinding binding)
    {
        var file = _kubeConfigOverride ?? binding.KubeConfig;
        var context = binding.Context ?? binding.Name;
        var key = (file ?? "") + "|" + context;
        lock (_gate)
        {
            if (_clients.TryGetValue(key, out var client)) return client;
            var configKey = file ?? "";
            if (!_configs.TryGetValue(configKey, out var config)) _configs[configKey] = config = KubeConfig.Load(file, _yaml);
            var ctx = config.Resolve(context);
            _log.Verbose($"Cluster {binding.Name}: context {ctx.Name}, server {ctx.Server}");
            client = new KubeClient(ctx, _options, _log);
            _clients[key] = client;
            return client;
        }
    }

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
            foreach (var c in _clients.Values) c.Dispose();
            _clients.Clear();
        }
    }
}
