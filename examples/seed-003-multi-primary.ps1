#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    Seed 003 as a pipeline: OpenShift Service Mesh 3 (Sail operator) multi-primary, multi-network. A shared root CA
    with an intermediate per cluster, one mesh (mesh1) over cluster1/network1 and cluster2/network2, helloworld from
    cluster2 exposed through the cross-network gateway, and locality failover in cluster1.
.PARAMETER Apply
    Apply to the clusters (contexts cluster1 and cluster2) instead of writing manifests: remote secrets need each
    remote API server's reader token, which only a live apply can read.
#>
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/seed-003'),
    [string] $Region1 = 'us-east-1',
    [string] $Region2 = 'us-west-2',
    [switch] $Apply
)

# Step 1-5 of the seed: root CA and one intermediate per cluster (RSA 4096 as the seed's openssl loop).
$ca = New-MeshCertificateAuthority -Cluster 'cluster1', 'cluster2'

# Step 6: IstioCNI and Istio per cluster, one mesh ID, a network each.
$cps = New-MeshControlPlane -Name mesh1 -Style MultiPrimary -Cluster 'cluster1', 'cluster2' -Network 'network1', 'network2' -SpecOverride @{ values = @{ meshConfig = @{ accessLogFile = '/dev/stdout' } } }

# Steps 9-11: east-west gateways and remote secrets in both directions.
$peers = $cps | New-MeshPeer

# Demo step 2: expose helloworld from cluster2 (cross-network Gateway, AUTO_PASSTHROUGH on 15443).
$export = $peers | Where-Object LocalMesh -eq 'cluster2-mesh1' | Export-MeshService -Namespace sample -Name helloworld

# Locality failover in cluster1.
$failover = $cps | Where-Object ClusterName -eq 'cluster1' | New-MeshFailoverPolicy -Name helloworld -Namespace sample -FromRegion $Region1 -ToRegion $Region2

$all = $cps, $peers, $export, $failover, $ca
$all | Test-MeshFederation -Quiet
if ($Apply) {
    $all | Sync-MeshFederation -Verbose
}
else {
    $all | Export-MeshManifest -Path $OutputPath
}
