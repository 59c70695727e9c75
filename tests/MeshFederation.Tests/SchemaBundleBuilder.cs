using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.Yaml;

namespace MeshFederation.Tests;

/// <summary>
/// Builds the upstream-schema bundle the engine ships (src/MeshFederation.Engine/Schemas/upstream-schemas.json.br) from
/// shared/crds: exactly the kinds the renderer emits, descriptions and defaults stripped, objects closed where the API
/// server prunes unknown fields. Regenerate with
/// <c>MESHFED_WRITE_SCHEMAS=1 dotnet test MeshFederation.sln -c Release --filter FullyQualifiedName~The_shipped_schemas_are_exactly</c>.
/// </summary>
internal static class SchemaBundleBuilder
{
    private const string ObjectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

    /// <summary>(folder, file, repo, upstream path, commit) — shared/crds/SOURCES.md.</summary>
    private static readonly (string Dir, string File, string Repo, string Path, string Commit)[] CrdFiles =
    {
        ("maistra-istio-operator", "servicemeshcontrolplanes.crd.yaml", "maistra/istio-operator", "manifests-servicemesh/2.5.1/servicemeshcontrolplanes.crd.yaml", "8143614c5f13ef9b894d107d47353507b70f45ea"),
        ("maistra-istio-operator", "servicemeshmemberrolls.crd.yaml", "maistra/istio-operator", "manifests-servicemesh/2.5.1/servicemeshmemberrolls.crd.yaml", "8143614c5f13ef9b894d107d47353507b70f45ea"),
        ("maistra-istio-operator", "servicemeshpeers.federation.maistra.io.crd.yaml", "maistra/istio-operator", "resources/helm/v2.5/istio-init/files/servicemeshpeers.federation.maistra.io.crd.yaml", "8143614c5f13ef9b894d107d47353507b70f45ea"),
        ("maistra-istio-operator", "exportedservicesets.federation.maistra.io.crd.yaml", "maistra/istio-operator", "resources/helm/v2.5/istio-init/files/exportedservicesets.federation.maistra.io.crd.yaml", "8143614c5f13ef9b894d107d47353507b70f45ea"),
        ("maistra-istio-operator", "importedservicesets.federation.maistra.io.crd.yaml", "maistra/istio-operator", "resources/helm/v2.5/istio-init/files/importedservicesets.federation.maistra.io.crd.yaml", "8143614c5f13ef9b894d107d47353507b70f45ea"),
        ("istio", "crd-all.gen.yaml", "istio/istio", "manifests/charts/base/files/crd-all.gen.yaml", "b9159ca3e5d56b05f69f3a58d687b8767d5639dd"),
        ("sail-operator", "sailoperator.io_istios.yaml", "istio-ecosystem/sail-operator", "chart/crds/sailoperator.io_istios.yaml", "2bd0e29ba7b276e1584a08c17d79fb48c4747acf"),
        ("sail-operator", "sailoperator.io_istiocnis.yaml", "istio-ecosystem/sail-operator", "chart/crds/sailoperator.io_istiocnis.yaml", "2bd0e29ba7b276e1584a08c17d79fb48c4747acf"),
        ("sail-operator-v1alpha1", "sailoperator.io_istios.yaml", "istio-ecosystem/sail-operator", "chart/crds/sailoperator.io_istios.yaml", "773a11747c38e375485df82640696f986ded4e76"),
        ("sail-operator-v1alpha1", "sailoperator.io_istiocnis.yaml", "istio-ecosystem/sail-operator", "chart/crds/sailoperator.io_istiocnis.yaml", "773a11747c38e375485df82640696f986ded4e76"),
        // Distribution formats (issue 17): Argo CD ApplicationSet, OCM ManifestWork, Placement, ManagedClusterSetBinding.
        ("argocd", "applicationset-crd.yaml", "argoproj/argo-cd", "manifests/crds/applicationset-crd.yaml", "109ca7ca71139e514114499d294a492e7910a965"),
        ("ocm-api", "0000_00_work.open-cluster-management.io_manifestworks.crd.yaml", "open-cluster-management-io/api", "work/v1/0000_00_work.open-cluster-management.io_manifestworks.crd.yaml", "1845fd8032e4637d1fdee587cb1a714fc4ee93cd"),
        ("ocm-api", "0000_02_clusters.open-cluster-management.io_placements.crd.yaml", "open-cluster-management-io/api", "cluster/v1beta1/0000_02_clusters.open-cluster-management.io_placements.crd.yaml", "1845fd8032e4637d1fdee587cb1a714fc4ee93cd"),
        ("ocm-api", "0000_01_clusters.open-cluster-management.io_managedclustersetbindings.crd.yaml", "open-cluster-management-io/api", "cluster/v1beta2/0000_01_clusters.open-cluster-management.io_managedclustersetbindings.crd.yaml", "1845fd8032e4637d1fdee587cb1a714fc4ee93cd"),
        ("gateway-api", "gateway.networking.k8s.io_gateways.yaml", "kubernetes-sigs/gateway-api", "config/crd/standard/gateway.networking.k8s.io_gateways.yaml", "8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3"),
    };

    /// <summary>The CRD kinds (group/version/kind) the renderer emits.</summary>
    private static readonly HashSet<string> CrdKinds = new(StringComparer.Ordinal)
    {
        "maistra.io/v2/ServiceMeshControlPlane", "maistra.io/v1/ServiceMeshMemberRoll",
        "federation.maistra.io/v1/ServiceMeshPeer", "federation.maistra.io/v1/ExportedServiceSet", "federation.maistra.io/v1/ImportedServiceSet",
        "sailoperator.io/v1/Istio", "sailoperator.io/v1/IstioCNI", "sailoperator.io/v1alpha1/Istio", "sailoperator.io/v1alpha1/IstioCNI",
        "argoproj.io/v1alpha1/ApplicationSet", "work.open-cluster-management.io/v1/ManifestWork",
        "cluster.open-cluster-management.io/v1beta1/Placement", "cluster.open-cluster-management.io/v1beta2/ManagedClusterSetBinding",
        "gateway.networking.k8s.io/v1/Gateway", "gateway.networking.k8s.io/v1beta1/Gateway",
    };

    private static readonly string[] IstioKinds = { "VirtualService", "DestinationRule", "ServiceEntry", "Gateway", "WorkloadEntry" };

    private static readonly (string File, string[] Kinds)[] CoreFiles =
    {
        ("api__v1_openapi.json", new[] { "v1/Namespace", "v1/ConfigMap", "v1/Secret", "v1/Service", "v1/ServiceAccount" }),
        ("apis__apps__v1_openapi.json", new[] { "apps/v1/Deployment" }),
        ("apis__policy__v1_openapi.json", new[] { "policy/v1/PodDisruptionBudget" }),
        ("apis__autoscaling__v2_openapi.json", new[] { "autoscaling/v2/HorizontalPodAutoscaler" }),
        ("apis__rbac.authorization.k8s.io__v1_openapi.json", new[] { "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding", "rbac.authorization.k8s.io/v1/ClusterRole", "rbac.authorization.k8s.io/v1/ClusterRoleBinding" }),
    };

    private static readonly HashSet<string> Kept = new(StringComparer.Ordinal)
    {
        "type", "properties", "additionalProperties", "items", "required", "enum", "pattern", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties",
        "allOf", "anyOf", "oneOf", "not", "nullable", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "$ref",
    };

    public static string Build(string crdsDir)
    {
        var bridge = new YamlDotNetBridge();
        var kinds = new JsonObject();
        var schemas = new JsonObject();
        var byHash = new Dictionary<string, string>(StringComparer.Ordinal);
        var sources = new JsonArray();
        var definitions = new JsonObject();

        void AddSchema(string key, JsonObject schema)
        {
            var text = schema.ToJsonString();
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
            if (!byHash.TryGetValue(hash, out var existing))
            {
                byHash[hash] = existing = key;
                schemas[key] = schema;
            }
            kinds[key] = existing;
        }

        foreach (var (dir, file, repo, path, commit) in CrdFiles)
        {
            var full = Path.Combine(crdsDir, dir, file);
            sources.Add(new JsonObject { ["file"] = $"{dir}/{file}", ["repo"] = repo, ["path"] = path, ["commit"] = commit });
            foreach (var node in bridge.Parse(File.ReadAllText(full), full))
            {
                if (node.ToJson() is not JsonObject doc || doc["kind"]?.GetValue<string>() != "CustomResourceDefinition") continue;
                var group = doc["spec"]!["group"]!.GetValue<string>();
                var kind = doc["spec"]!["names"]!["kind"]!.GetValue<string>();
                foreach (var v in doc["spec"]!["versions"]!.AsArray())
                {
                    var key = $"{group}/{v!["name"]!.GetValue<string>()}/{kind}";
                    var wanted = CrdKinds.Contains(key) || (group == "networking.istio.io" && IstioKinds.Contains(kind));
                    if (!wanted || v["served"]?.GetValue<bool>() == false || v["schema"]?["openAPIV3Schema"] is not JsonObject raw) continue;
                    var schema = Strip(raw, isCrd: true);
                    var props = schema["properties"] as JsonObject ?? new JsonObject();
                    props.Remove("status");
                    props["apiVersion"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray($"{group}/{v["name"]!.GetValue<string>()}") };
                    props["kind"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray(kind) };
                    props["metadata"] = new JsonObject { ["$ref"] = "#/definitions/" + ObjectMeta };
                    schema["properties"] = props;
                    schema.Remove("x-kubernetes-preserve-unknown-fields");
                    schema["additionalProperties"] = false;
                    AddSchema(key, schema);
                }
            }
        }

        var wantedDefinitions = new SortedSet<string>(StringComparer.Ordinal) { ObjectMeta };
        var allDefinitions = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var (file, wantedKinds) in CoreFiles)
        {
            sources.Add(new JsonObject
            {
                ["file"] = $"kubernetes-openapi-v3/{file}", ["repo"] = "kubernetes-sigs/kubectl-validate",
                ["path"] = "pkg/openapiclient/builtins/1.33/" + file.Replace("__", "/", StringComparison.Ordinal).Replace("_openapi.json", ".json", StringComparison.Ordinal),
                ["commit"] = "a97ccfaca20b164819afdae780392496f6ed6bbd",
            });
            var doc = JsonNode.Parse(File.ReadAllText(Path.Combine(crdsDir, "kubernetes-openapi-v3", file)))!.AsObject();
            foreach (var (name, schema) in doc["components"]!["schemas"]!.AsObject())
            {
                allDefinitions.TryAdd(name, schema!.AsObject());
                if (schema!["x-kubernetes-group-version-kind"] is not JsonArray gvks) continue;
                foreach (var gvk in gvks)
                {
                    var g = gvk!["group"]!.GetValue<string>();
                    var apiVersion = g.Length == 0 ? gvk["version"]!.GetValue<string>() : $"{g}/{gvk["version"]!.GetValue<string>()}";
                    var key = $"{apiVersion}/{gvk["kind"]!.GetValue<string>()}";
                    if (!wantedKinds.Contains(key) || kinds.ContainsKey(key)) continue;
                    wantedDefinitions.Add(name);
                    AddSchema(key, new JsonObject { ["$ref"] = "#/definitions/" + name });
                }
            }
        }
        // Every definition the wanted ones reference, transitively.
        var queue = new Queue<string>(wantedDefinitions);
        var seen = new HashSet<string>(wantedDefinitions, StringComparer.Ordinal);
        while (queue.Count > 0)
            foreach (var r in Refs(allDefinitions[queue.Dequeue()]))
                if (seen.Add(r)) queue.Enqueue(r);
        foreach (var name in seen.Order(StringComparer.Ordinal))
            definitions[name] = Strip(Rewrite(allDefinitions[name]), isCrd: false);

        var bundle = new JsonObject
        {
            ["description"] = "Upstream schemas of the kinds MeshFederation renders, from shared/crds (see sources); descriptions and defaults stripped, objects closed where the API server prunes unknown fields.",
            ["sources"] = sources,
            ["kinds"] = kinds,
            ["schemas"] = schemas,
            ["definitions"] = definitions,
        };
        return bundle.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    private static IEnumerable<string> Refs(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    if (k == "$ref" && v is JsonValue r && r.GetValue<string>().StartsWith("#/components/schemas/", StringComparison.Ordinal))
                        yield return r.GetValue<string>()["#/components/schemas/".Length..];
                    else foreach (var x in Refs(v)) yield return x;
                }
                break;
            case JsonArray a:
                foreach (var v in a) foreach (var x in Refs(v)) yield return x;
                break;
        }
    }

    private static JsonObject Rewrite(JsonObject schema)
    {
        var copy = schema.DeepClone().AsObject();
        KubeSchemas.RewriteRefs(copy);
        return copy;
    }

    /// <summary>
    /// Keeps the validating keywords and closes objects as the API server prunes: CRD objects without properties are
    /// closed too. Alternatives (allOf/anyOf/oneOf/not) only constrain: pruning follows the enclosing schema's
    /// properties, so nothing under them is closed (a Gateway address of type Hostname keeps its value).
    /// </summary>
    private static JsonObject Strip(JsonObject schema, bool isCrd, bool inBranch = false)
    {
        var result = new JsonObject();
        foreach (var (k, v) in schema)
        {
            if (!Kept.Contains(k)) continue;
            result[k] = k switch
            {
                "properties" => new JsonObject(v!.AsObject().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Strip(p.Value!.AsObject(), isCrd, inBranch)))),
                "items" when v is JsonObject o => Strip(o, isCrd, inBranch),
                "not" when v is JsonObject o => Strip(o, isCrd, inBranch: true),
                "additionalProperties" when v is JsonObject o => Strip(o, isCrd, inBranch),
                "allOf" or "anyOf" or "oneOf" => new JsonArray(v!.AsArray().Select(x => (JsonNode?)Strip(x!.AsObject(), isCrd, inBranch: true)).ToArray()),
                _ => v?.DeepClone(),
            };
        }
        var preserve = result["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true;
        var isObject = result["type"] is JsonValue t && t.GetValue<string>() == "object";
        if (!inBranch && !preserve && result["additionalProperties"] is null && (result["properties"] is not null || (isCrd && isObject)))
            result["additionalProperties"] = false;
        return result;
    }
}
