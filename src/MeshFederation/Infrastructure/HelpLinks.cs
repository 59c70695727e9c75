namespace MeshFederation.Infrastructure;

/// <summary>Where each cmdlet's online help lives (the cmdlets' HelpUri; docs/&lt;Cmdlet&gt;.md "online version").</summary>
internal static class HelpLinks
{
    public const string Docs = "https://github.com/meshfederation/MeshFederation/blob/main/docs/";
}
