#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    Seed 004 as a pipeline: two independent Istio meshes with a shared root CA. pke imports echo from gke as
    echo.default.global (ServiceEntry echo-svc with VIP 127.255.0.1, reached at gke's gateway on 15443) and splits echo's traffic
    50/50 between the two clusters.
#>
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/seed-004'),
    [string] $PkeGateway = '35.180.106.193',
    [string] $GkeGateway = '34.76.20.11'
)

$ca = New-MeshCertificateAuthority -Cluster 'istio-multimesh-pke', 'istio-multimesh-gke'

$pke = New-MeshControlPlane -Name pke -Style MultiMesh -Cluster istio-multimesh-pke -Context 'kubernetes-admin@istio-multimesh-pke' -IngressAddress @{ '*' = $PkeGateway }
$gke = New-MeshControlPlane -Name gke -Style MultiMesh -Cluster istio-multimesh-gke -Context istio-multimesh-gke -IngressAddress @{ '*' = $GkeGateway }
$peers = $pke, $gke | New-MeshPeer

$export = $peers | Where-Object LocalMesh -eq 'gke' | Export-MeshService -Namespace default -Name echo
$import = $peers | Where-Object LocalMesh -eq 'pke' | Import-MeshService -Namespace default -Name echo -Port 'http1:80/http' -ServiceEntryName echo-svc -Vip 127.255.0.1 -ServiceEntryApiVersion networking.istio.io/v1alpha3
$split = $import | New-MeshTrafficSplit -Name echo -Namespace default -LocalHost echo.default.svc.cluster.local -RemoteWeight 50 -RouteHost '*' -Gateway echo-gateway.default.svc.cluster.local -Port 80 -ApiVersion networking.istio.io/v1alpha3

$all = $pke, $gke, $peers, $export, $import, $split, $ca
$all | Test-MeshFederation -Quiet
$all | ConvertTo-MeshManifest | Format-Table
$all | Export-MeshManifest -Path $OutputPath
