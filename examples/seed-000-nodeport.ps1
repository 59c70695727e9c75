#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    Seed 000 as a pipeline: two libvirt/z/VM clusters without LoadBalancers. Federation gateways are NodePort and
    haproxy forwards raw TCP. -ProxyHost is seed 000's PROXY_HOST (both clusters on one host); -ClusterAddress is its
    MESH1_ADDRESS / MESH2_ADDRESS variant (one host per cluster).
#>
[CmdletBinding(DefaultParameterSetName = 'SharedHost')]
param(
    [Parameter(ParameterSetName = 'SharedHost')]
    [string] $ProxyHost = '192.168.122.1',

    [Parameter(Mandatory, ParameterSetName = 'PerCluster')]
    [hashtable] $ClusterAddress,

    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/seed-000')
)

$mesh1 = New-MeshControlPlane -Name mesh1 -Cluster mesh1 -Version v2.1 -MemberNamespace mesh1-bookinfo -GatewayExposure NodePort `
    -NodeAddress '192.168.126.11', '192.168.126.12', '192.168.126.13' -NodePortBase 31000
$mesh2 = New-MeshControlPlane -Name mesh2 -Cluster mesh2 -Version v2.1 -MemberNamespace mesh2-bookinfo -GatewayExposure NodePort `
    -NodeAddress '192.168.127.11', '192.168.127.12', '192.168.127.13' -NodePortBase 31100

$peers = $mesh1, $mesh2 | New-MeshPeer

$proxy = if ($PSCmdlet.ParameterSetName -eq 'PerCluster') {
    $peers | New-FederationProxyConfig -ClusterAddress $ClusterAddress
} else {
    $peers | New-FederationProxyConfig -ProxyHost $ProxyHost
}
$proxy.PortMap | Format-Table

$exports = 'ratings', 'mongodb' | ForEach-Object {
    $mesh1 | Export-MeshService -Peer mesh2 -Namespace mesh1-bookinfo -Name $_ -AliasNamespace bookinfo -AliasName $_
}
$import = $mesh2 | Import-MeshService -Peer mesh1 -Namespace bookinfo -Name '*' -AliasNamespace mesh2-bookinfo

$mesh1, $mesh2, $peers, $proxy, $exports, $import | Test-MeshFederation -Quiet
$mesh1, $mesh2, $peers, $proxy, $exports, $import | Export-MeshManifest -Path $OutputPath -PassThru
