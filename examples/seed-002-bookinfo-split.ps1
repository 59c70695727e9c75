#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    Seed 002 as a pipeline: one template for two clusters (the OCM MeshDeployment), N-way federation, and the
    bookinfo split: managedcluster2 exports reviews and ratings, managedcluster1 imports them as local services.
#>
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/seed-002')
)

# One call, two clusters: managedcluster1-mesh and managedcluster2-mesh, each with its own trust domain.
$meshes = New-MeshControlPlane -Name mesh -Cluster 'managedcluster1', 'managedcluster2' -Namespace mesh-system -Version v2.1 -MemberNamespace mesh-bookinfo

$peers = $meshes | New-MeshPeer

$exports = foreach ($svc in 'reviews', 'ratings') {
    $peers | Where-Object LocalMesh -eq 'managedcluster2-mesh' | Export-MeshService -Namespace mesh-bookinfo -Name $svc
}
$imports = foreach ($svc in 'reviews', 'ratings') {
    $peers | Where-Object LocalMesh -eq 'managedcluster1-mesh' |
        Import-MeshService -Namespace mesh-bookinfo -Name $svc -AliasNamespace mesh-bookinfo -ImportAsLocal
}

$meshes, $peers, $exports, $imports | Test-MeshFederation -Quiet
$meshes, $peers, $exports, $imports | ConvertTo-MeshManifest | Format-Table
$meshes, $peers, $exports, $imports | Export-MeshManifest -Path $OutputPath
