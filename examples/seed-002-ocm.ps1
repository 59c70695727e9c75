#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    Seed 002 through Open Cluster Management: one ManifestWork per managed cluster (managedcluster1, managedcluster2)
    in the hub namespace named after it, plus a Placement and ManagedClusterSetBinding for the cluster set.
.DESCRIPTION
    Apply to the hub:   kubectl --context HUB apply --server-side -k <OutputPath>
    Check via the hub:  Test-MeshFederation -OcmHub HUB -Path ./examples/seed-002-bookinfo-split.yaml
#>
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/seed-002-ocm'),
    [string] $ClusterSet = 'mesh-clusters'
)

Import-MeshTopology -Path (Join-Path $PSScriptRoot 'seed-002-bookinfo-split.yaml') |
    Export-MeshManifest -Path $OutputPath -Format Ocm -ClusterSet $ClusterSet -PassThru -WarningAction SilentlyContinue |
    Select-Object -ExpandProperty Name
