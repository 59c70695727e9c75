#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    Seed 001 as a pipeline: blue and green OSSM 2 meshes federated over LoadBalancer gateways; dokuwiki exported by
    blue, imported by green as blue-dokuwiki, with /dokuwiki routed 100 % to the imported service.
    The declarative twin is seed-001-blue-green.yaml (Import-MeshTopology gives the same objects).
#>
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/seed-001')
)

$runtime = @{ runtime = @{ defaults = @{ container = @{ imagePullPolicy = 'Always' } } } }

$blue = New-MeshControlPlane -Name blue-mesh -Namespace blue-mesh-system -Cluster blue -Context blue -Version v2.1 `
    -TrustDomain blue-mesh.local -MemberNamespace nfs-app-istio -IngressGatewayName 'ingress-{peer}' -EgressGatewayName 'egress-{peer}' -GatewayForLabel Gateway `
    -IngressAddress @{ 'green-mesh' = '10.19.3.29' } -SpecOverride $runtime
$green = New-MeshControlPlane -Name green-mesh -Namespace green-mesh-system -Cluster green -Context green -Version v2.1 `
    -TrustDomain green-mesh.local -MemberNamespace nfs-app-istio -IngressGatewayName 'ingress-{peer}' -EgressGatewayName 'egress-{peer}' -GatewayForLabel Gateway `
    -IngressAddress @{ 'blue-mesh' = '10.19.3.30' } -SpecOverride $runtime

# Both directions of the pair: a ServiceMeshPeer in each mesh.
$peers = $blue, $green | New-MeshPeer

$export = $peers | Where-Object LocalMesh -eq 'blue-mesh' |
    Export-MeshService -Namespace nfs-app-istio -Name dokuwiki -AliasNamespace nfs-app-istio -AliasName dokuwiki

$import = $peers | Where-Object LocalMesh -eq 'green-mesh' |
    Import-MeshService -Namespace nfs-app-istio -Name dokuwiki -AliasNamespace nfs-app-istio -AliasName blue-dokuwiki

$route = $import | New-MeshTrafficSplit -Name dokuwiki -LocalHost dokuwiki -RemoteWeight 100 -RouteHost '*' `
    -Gateway dokuwiki-gateway -UriExact /dokuwiki -UriPrefix /lib -Port 8080

$blue, $green, $peers, $export, $import, $route | Test-MeshFederation | Format-Table
$blue, $green, $peers, $export, $import, $route | Export-MeshManifest -Path $OutputPath -PassThru
