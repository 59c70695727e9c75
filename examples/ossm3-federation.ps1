#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    The OSSM 3 federation of Red Hat's Federation-to-Multi-Cluster migration guide as a pipeline: east-mesh imports
    httpbin from namespaces a and b of west-mesh, keeping the OSSM 2 host names httpbin.a.svc.west-mesh-imports.local and
    httpbin.b.svc.cluster.local. Renders what examples/ossm3-federation.yaml renders, then writes the manifests.
    To migrate a running OSSM 2 federation instead: ConvertTo-MeshOssm3Federation -Context east, west -OutputDirectory ./migration
#>
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/ossm3-federation'),
    [string] $WestEastWestGateway = '192.0.2.10'
)

$accessLog = @{ values = @{ meshConfig = @{ accessLogFile = '/dev/stdout' } } }
$east = New-MeshControlPlane -Name east-mesh -Style Ossm3Federation -Cluster east -Context east -Namespace istio-system -Version v1.24-latest -TrustDomain east.local -MemberNamespace client -SpecOverride $accessLog
$west = New-MeshControlPlane -Name west-mesh -Style Ossm3Federation -Cluster west -Context west -Namespace istio-system -Version v1.24-latest -TrustDomain west.local -MemberNamespace a, b -SpecOverride $accessLog -IngressAddress @{ '*' = $WestEastWestGateway }
$peers = $east, $west | New-MeshPeer

$exports = 'a', 'b' | ForEach-Object { $west | Export-MeshService -Peer east-mesh -Namespace $_ -Name httpbin -Port http:8000:8080 -ServiceAccount httpbin -Selector @{ app = 'httpbin' } }
$imports = @(
    $east | Import-MeshService -Peer west-mesh -Namespace a -ServiceEntryName httpbin-west-mesh-imports -EndpointLabel @{ app = 'httpbin-west-imports' }
    $east | Import-MeshService -Peer west-mesh -Namespace b -AliasNamespace b -ImportAsLocal -WorkloadEntryName httpbin-cluster-local-west-mesh -EndpointLabel @{ app = 'httpbin-cluster-local' }
)

$all = $east, $west, $peers, $exports, $imports
$all | Test-MeshFederation | Where-Object Status -ne Pass | Format-Table CheckId, Mesh, Status, Message
$all | ConvertTo-MeshManifest -WarningAction SilentlyContinue | Format-Table
$all | Export-MeshManifest -Path $OutputPath -WarningAction SilentlyContinue
