using System.Globalization;
using System.Net;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Rendering;

/// <summary>
/// Virtual IPs for <c>.global</c> ServiceEntries: unique within the importing cluster, taken from a range
/// (127.255.0.0/16 as seed 004 by default), and stable: a host always hashes to the same starting address and keeps an
/// address it already has, so adding imports does not move existing ones.
/// </summary>
public static class VipAllocator
{
    public static bool TryParse(string cidr, out uint network, out int prefix)
    {
        network = 0;
        prefix = 0;
        var parts = cidr.Split('/');
        if (parts.Length != 2 || !Names.IsIPv4(parts[0]) || !IPAddress.TryParse(parts[0], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix is < 8 or > 32) return false;
        var bytes = ip.GetAddressBytes();
        var value = ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
        var mask = prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);
        network = value & mask;
        return true;
    }

    /// <summary>Addresses usable for VIPs: the whole range, without its network and broadcast addresses when it has them.</summary>
    public static (uint First, long Count) Usable(uint network, int prefix)
    {
        var size = 1L << (32 - prefix);
        return size > 2 ? (network + 1, size - 2) : (network, size);
    }

    public static string Format(uint value) =>
        string.Create(CultureInfo.InvariantCulture, $"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}");

    private static uint Parse(string ip)
    {
        var b = IPAddress.Parse(ip).GetAddressBytes();
        return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
    }

    /// <summary>FNV-1a: the same host starts at the same address on every run and machine.</summary>
    private static uint Hash(string s)
    {
        var h = 2166136261u;
        foreach (var c in s)
        {
            h ^= c;
            h *= 16777619u;
        }
        return h;
    }

    /// <summary>
    /// Allocates a VIP per host; <paramref name="existing"/> (read from the cluster) are kept when still valid;
    /// <paramref name="pinned"/> (declared, e.g. istio.io's 240.0.0.2) are used as given and never handed to another host.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Allocate(string cidr, IEnumerable<string> hosts, IReadOnlyDictionary<string, string>? existing = null, string field = "vipRange",
        IReadOnlyDictionary<string, string>? pinned = null)
    {
        if (!TryParse(cidr, out var network, out var prefix))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, field, cidr, "is not an IPv4 CIDR range", "use a range such as 127.255.0.0/16"));
        var (first, count) = Usable(network, prefix);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<uint>();
        foreach (var (host, ip) in pinned ?? new Dictionary<string, string>())
        {
            result[host] = ip;
            if (IPAddress.TryParse(ip, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) taken.Add(Parse(ip));
        }
        var wanted = hosts.Distinct(StringComparer.Ordinal).Where(h => !result.ContainsKey(h)).Order(StringComparer.Ordinal).ToList();
        if (wanted.Count > count - taken.Count(t => t >= first && t < first + count))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, field, cidr,
                $"is exhausted: {wanted.Count} imported hosts need a VIP but the range has {count} usable addresses",
                "use a larger range (a shorter prefix), or import fewer services into this cluster"));
        if (existing is not null)
            foreach (var host in wanted)
                if (existing.TryGetValue(host, out var ip) && IPAddress.TryParse(ip, out _))
                {
                    var v = Parse(ip);
                    if (v >= first && v < first + count && taken.Add(v)) result[host] = ip;
                }
        foreach (var host in wanted.Where(h => !result.ContainsKey(h)))
        {
            var offset = (long)(Hash(host) % (ulong)count);
            for (var i = 0L; i < count; i++)
            {
                var candidate = (uint)(first + ((offset + i) % count));
                if (!taken.Add(candidate)) continue;
                result[host] = Format(candidate);
                break;
            }
        }
        return result;
    }
}
