using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Kube;

/// <summary>
/// A kubeconfig user with <c>auth-provider: {name: oidc}</c>: its id-token is sent as the bearer token while it is
/// valid (the JWT's exp claim). It is not refreshed here: client-go's oidc auth-provider is deprecated, and an expired
/// token fails with a message that points to an exec credential plugin such as kubelogin, which refreshes tokens.
/// </summary>
public sealed class OidcToken
{
    /// <summary>Tokens this close to expiry are treated as expired (clock skew, request time).</summary>
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(10);

    public OidcToken(string user, string? idToken, string? issuer, Func<DateTimeOffset>? clock = null)
    {
        User = user;
        IdToken = idToken;
        Issuer = issuer;
        Clock = clock ?? (() => DateTimeOffset.UtcNow);
        Expiry = ExpiryOf(idToken);
    }

    public string User { get; }

    /// <summary>The id-token (a JWT); never written to output or logs.</summary>
    internal string? IdToken { get; }

    public string? Issuer { get; }

    /// <summary>The exp claim of the id-token, when it has one.</summary>
    public DateTimeOffset? Expiry { get; }

    private Func<DateTimeOffset> Clock { get; }

    private const string Fix = "log in again with an exec credential plugin such as kubelogin (kubectl oidc-login; users[].user.exec in the kubeconfig), which refreshes the token; the oidc auth-provider is deprecated and its tokens are not refreshed here";

    /// <summary>The id-token to send; throws when there is none or it has expired.</summary>
    public string CurrentToken(string context)
    {
        if (string.IsNullOrEmpty(IdToken))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, $"kubeconfig user '{User}' auth-provider oidc id-token", null,
                $"is missing (context '{context}')", Fix));
        if (Expiry is { } exp && exp - Skew <= Clock())
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, $"kubeconfig user '{User}' auth-provider oidc id-token", "(not shown)",
                $"expired at {exp.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}{(Issuer is null ? "" : $" (issuer {Issuer})")} (context '{context}')", Fix));
        return IdToken;
    }

    private static DateTimeOffset? ExpiryOf(string? jwt)
    {
        var parts = jwt?.Split('.');
        if (parts is not { Length: 3 }) return null;
        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
            var claims = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload))) as JsonObject;
            return claims?["exp"] is JsonValue v && v.TryGetValue<double>(out var seconds) ? DateTimeOffset.FromUnixTimeSeconds((long)seconds) : null;
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
