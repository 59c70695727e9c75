#Requires -Version 7.4
#Requires -Modules MeshFederation
<#
.SYNOPSIS
    Seed 001 through Argo CD: the blue/green federation as a kustomize tree with sync waves and an ApplicationSet
    (list generator of the topology's clusters) that syncs clusters/<cluster> from a Git repository.
.DESCRIPTION
    Commit the folder to the repository, register the clusters in Argo CD under their topology names (blue, green),
    then create the ApplicationSet: kubectl -n argocd apply -f <OutputPath>/argocd/applicationset.yaml
#>
param(
    [string] $OutputPath = (Join-Path $PSScriptRoot 'rendered/seed-001-argocd'),
    [string] $RepoUrl = 'https://git.example.com/platform/mesh.git',
    [string] $Revision = 'main'
)

Import-MeshTopology -Path (Join-Path $PSScriptRoot 'seed-001-blue-green.yaml') |
    Export-MeshManifest -Path $OutputPath -Format ArgoCD -RepoUrl $RepoUrl -Revision $Revision -PassThru -WarningAction SilentlyContinue |
    Select-Object -ExpandProperty Name
