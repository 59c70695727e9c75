using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// What kube-apiserver fills in on every write of a built-in kind (the SetDefaults_* functions of k8s.io/kubernetes
/// pkg/apis/*/v1/defaults.go, the Service REST allocators and quantity canonicalisation), so that objects read back
/// differ from what was sent exactly as on a real cluster. Custom resources get their schemas' defaults instead
/// (<see cref="ApiSchemas.Schema.Default"/>).
/// </summary>
public static class ServerDefaults
{
    /// <summary>Applies the defaults of <paramref name="t"/> to <paramref name="obj"/>; <paramref name="live"/> is the stored object on updates.</summary>
    public static void Apply(ResourceType t, JsonObject obj, JsonObject? live, IAllocator allocator)
    {
        var spec = obj["spec"] as JsonObject;
        switch ((t.Group, t.Kind))
        {
            case ("", "Namespace"):
                var name = obj["metadata"]!["name"]!.GetValue<string>();
                var labels = obj["metadata"]!["labels"] as JsonObject ?? new JsonObject();
                obj["metadata"]!["labels"] = labels;
                labels["kubernetes.io/metadata.name"] = name;
                spec = obj["spec"] as JsonObject ?? new JsonObject();
                obj["spec"] = spec;
                spec["finalizers"] ??= new JsonArray("kubernetes");
                break;
            case ("", "Secret"):
                obj["type"] ??= "Opaque";
                if (obj["stringData"] is JsonObject sd)
                {
                    var data = obj["data"] as JsonObject ?? new JsonObject();
                    obj["data"] = data;
                    foreach (var (k, v) in sd) data[k] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(v?.GetValue<string>() ?? ""));
                    obj.Remove("stringData");
                }
                break;
            case ("", "Service") when spec is not null:
                Service(spec, live?["spec"] as JsonObject, allocator);
                break;
            case ("", "Pod") when spec is not null:
                PodSpec(spec);
                spec["enableServiceLinks"] ??= true;
                spec["priority"] ??= 0;
                spec["preemptionPolicy"] ??= "PreemptLowerPriority";
                break;
            case ("apps", "Deployment") when spec is not null:
                spec["replicas"] ??= 1;
                spec["revisionHistoryLimit"] ??= 10;
                spec["progressDeadlineSeconds"] ??= 600;
                var strategy = spec["strategy"] as JsonObject ?? new JsonObject();
                spec["strategy"] = strategy;
                strategy["type"] ??= "RollingUpdate";
                if (strategy["type"]!.GetValue<string>() == "RollingUpdate")
                {
                    var ru = strategy["rollingUpdate"] as JsonObject ?? new JsonObject();
                    strategy["rollingUpdate"] = ru;
                    ru["maxUnavailable"] ??= "25%";
                    ru["maxSurge"] ??= "25%";
                }
                if (spec["template"]?["spec"] is JsonObject podSpec) PodSpec(podSpec);
                break;
            case ("autoscaling", "HorizontalPodAutoscaler") when spec is not null:
                spec["minReplicas"] ??= 1;
                if (spec["metrics"] is not JsonArray { Count: > 0 })
                    spec["metrics"] = JsonNode.Parse("""[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]""");
                foreach (var m in (spec["metrics"] as JsonArray)!.OfType<JsonObject>())
                    foreach (var target in new[] { m["resource"]?["target"], m["pods"]?["target"], m["object"]?["target"], m["external"]?["target"], m["containerResource"]?["target"] }.OfType<JsonObject>())
                        foreach (var q in new[] { "averageValue", "value" }) if (target[q] is JsonValue v) target[q] = Quantity.Canonical(v);
                if (spec["behavior"] is JsonObject behavior)
                {
                    behavior["scaleUp"] ??= new JsonObject();
                    var up = (JsonObject)behavior["scaleUp"]!;
                    up["stabilizationWindowSeconds"] ??= 0;
                    up["selectPolicy"] ??= "Max";
                    up["policies"] ??= JsonNode.Parse("""[{"type":"Pods","value":4,"periodSeconds":15},{"type":"Percent","value":100,"periodSeconds":15}]""");
                    behavior["scaleDown"] ??= new JsonObject();
                    var down = (JsonObject)behavior["scaleDown"]!;
                    down["selectPolicy"] ??= "Max";
                    down["policies"] ??= JsonNode.Parse("""[{"type":"Percent","value":100,"periodSeconds":15}]""");
                }
                break;
        }
    }

    private static void PodSpec(JsonObject spec)
    {
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["securityContext"] ??= new JsonObject();
        spec["schedulerName"] ??= "default-scheduler";
        foreach (var list in new[] { "containers", "initContainers" })
            foreach (var c in (spec[list] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                Container(c);
        foreach (var v in (spec["volumes"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
        {
            if (v["secret"] is JsonObject s) s["defaultMode"] ??= 420;
            if (v["configMap"] is JsonObject cm) cm["defaultMode"] ??= 420;
            if (v["projected"] is JsonObject p) p["defaultMode"] ??= 420;
            if (v["downwardAPI"] is JsonObject d) d["defaultMode"] ??= 420;
        }
    }

    private static void Container(JsonObject c)
    {
        c["terminationMessagePath"] ??= "/dev/termination-log";
        c["terminationMessagePolicy"] ??= "File";
        if (c["imagePullPolicy"] is null)
        {
            // Always for :latest or no tag, else IfNotPresent (a digest counts as a tag).
            var image = c["image"]?.GetValue<string>() ?? "";
            var lastPart = image[(image.LastIndexOf('/') + 1)..];
            var tagged = image.Contains('@', StringComparison.Ordinal) || (lastPart.Contains(':', StringComparison.Ordinal) && !lastPart.EndsWith(":latest", StringComparison.Ordinal));
            c["imagePullPolicy"] = tagged ? "IfNotPresent" : "Always";
        }
        var resources = c["resources"] as JsonObject ?? new JsonObject();
        c["resources"] = resources;
        foreach (var k in new[] { "requests", "limits" })
            if (resources[k] is JsonObject q)
                foreach (var (name, value) in q.ToList()) if (value is JsonValue v) q[name] = Quantity.Canonical(v);
        foreach (var p in (c["ports"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>()) p["protocol"] ??= "TCP";
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
            if (c[probe] is JsonObject pr)
            {
                pr["timeoutSeconds"] ??= 1;
                pr["periodSeconds"] ??= 10;
                pr["successThreshold"] ??= 1;
                pr["failureThreshold"] ??= 3;
                if (pr["httpGet"] is JsonObject hg) hg["scheme"] ??= "HTTP";
            }
        foreach (var e in (c["env"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            if (e["valueFrom"]?["fieldRef"] is JsonObject fr) fr["apiVersion"] ??= "v1";
    }

    private static void Service(JsonObject spec, JsonObject? live, IAllocator allocator)
    {
        spec["type"] ??= "ClusterIP";
        var type = spec["type"]!.GetValue<string>();
        if (type != "ExternalName")
        {
            // Allocated values survive updates that leave them out (the Service REST strategy's patchAllocatedValues).
            spec["clusterIP"] ??= live?["clusterIP"]?.DeepClone() ?? allocator.ClusterIp();
            spec["clusterIPs"] ??= new JsonArray(spec["clusterIP"]!.DeepClone());
            spec["ipFamilies"] ??= new JsonArray("IPv4");
            spec["ipFamilyPolicy"] ??= "SingleStack";
            spec["internalTrafficPolicy"] ??= "Cluster";
        }
        spec["sessionAffinity"] ??= "None";
        if (type is "NodePort" or "LoadBalancer") spec["externalTrafficPolicy"] ??= "Cluster";
        if (type == "LoadBalancer") spec["allocateLoadBalancerNodePorts"] ??= true;
        var livePorts = (live?["ports"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        foreach (var p in (spec["ports"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
        {
            p["protocol"] ??= "TCP";
            p["targetPort"] ??= p["port"]?.DeepClone();
            var needsNodePort = type == "NodePort" || (type == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"]?.GetValue<bool>() != false);
            if (needsNodePort && p["nodePort"] is null)
            {
                var old = livePorts.FirstOrDefault(l => JsonNode.DeepEquals(l["port"], p["port"]) && (l["protocol"]?.GetValue<string>() ?? "TCP") == p["protocol"]!.GetValue<string>());
                p["nodePort"] = old?["nodePort"]?.DeepClone() ?? allocator.NodePort();
            }
        }
    }

    /// <summary>Hands out cluster IPs and node ports, as the Service allocators do.</summary>
    public interface IAllocator
    {
        JsonNode ClusterIp();

        JsonNode NodePort();
    }
}

/// <summary>resource.Quantity's canonical form: "1000m" is "1", "0.5" is "500m", "1024Mi" is "1Gi", "1.5Gi" is "1536Mi".</summary>
public static class Quantity
{
    private static readonly string[] Binary = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    private static readonly (string Suffix, int Exp)[] DecimalSuffixes = { ("n", -9), ("u", -6), ("m", -3), ("", 0), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18) };

    /// <summary>The canonical JSON value of a quantity (numbers become strings); unparseable values are returned unchanged.</summary>
    public static JsonNode Canonical(JsonValue value)
    {
        var text = value.TryGetValue<string>(out var s) ? s : value.ToJsonString();
        return TryCanonical(text, out var canonical) ? JsonValue.Create(canonical)! : value.DeepClone();
    }

    public static bool TryCanonical(string text, out string canonical)
    {
        canonical = text;
        var m = System.Text.RegularExpressions.Regex.Match(text.Trim(), @"^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$");
        if (!m.Success || (m.Groups[2].Value.Length == 0 && m.Groups[3].Value.Length == 0)) return false;
        var negative = m.Groups[1].Value == "-";
        var digits = m.Groups[2].Value + m.Groups[3].Value;
        var scale = -m.Groups[3].Value.Length; // value = digits * 10^scale
        var mantissa = BigInteger.Parse(digits.Length == 0 ? "0" : digits, CultureInfo.InvariantCulture);
        var suffix = m.Groups[4].Value;
        var binaryIndex = Array.IndexOf(Binary, suffix);
        string format;
        if (suffix.Length > 0 && binaryIndex > 0)
        {
            format = "BinarySI";
            mantissa *= BigInteger.Pow(1024, binaryIndex);
        }
        else if (suffix.Length > 0 && (suffix[0] is 'e' or 'E'))
        {
            format = "DecimalExponent";
            scale += int.Parse(suffix[1..], CultureInfo.InvariantCulture);
        }
        else
        {
            format = "DecimalSI";
            scale += DecimalSuffixes.First(d => d.Suffix == suffix).Exp;
        }
        // The value in nano units, rounded up (quantities keep at most 9 decimal places).
        BigInteger nanos;
        if (scale >= -9) nanos = mantissa * BigInteger.Pow(10, scale + 9);
        else
        {
            var div = BigInteger.Pow(10, -9 - scale);
            nanos = BigInteger.DivRem(mantissa, div, out var rem);
            if (rem != 0) nanos += 1;
        }
        var sign = negative && nanos != 0 ? "-" : "";
        var isInteger = nanos % 1_000_000_000 == 0;
        if (format == "BinarySI")
        {
            var whole = nanos / 1_000_000_000;
            if (!isInteger || (whole > -1024 && whole < 1024)) format = "DecimalSI";
            else
            {
                var i = 0;
                while (i < Binary.Length - 1 && whole % 1024 == 0) { whole /= 1024; i++; }
                canonical = sign + whole.ToString(CultureInfo.InvariantCulture) + Binary[i];
                return true;
            }
        }
        // Decimal: the largest exponent (a multiple of 3) that keeps the mantissa whole.
        var exp = -9;
        var mant = nanos;
        while (exp < 18 && mant != 0 && mant % 1000 == 0) { mant /= 1000; exp += 3; }
        if (mant == 0) exp = 0;
        var text2 = mant.ToString(CultureInfo.InvariantCulture);
        canonical = sign + text2 + (format == "DecimalExponent" ? (exp == 0 ? "" : "e" + exp.ToString(CultureInfo.InvariantCulture)) : DecimalSuffixes.First(d => d.Exp == exp).Suffix);
        return true;
    }
}
