#Requires -Version 7.4
# Issue 17: Export-MeshManifest -Format Kustomize|ArgoCD|Ocm and Test-MeshFederation -OcmHub in real pwsh, judged by
# the real kubectl (kubectl kustomize; server-side apply with strict validation to a fake OCM hub).

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $seed001 = Join-Path $ExamplesDir 'seed-001-blue-green.yaml'
    $seed002 = Join-Path $ExamplesDir 'seed-002-bookinfo-split.yaml'
    # The objects of a YAML stream, as "Kind namespace/name" in order (kustomize sorts keys; the order of objects is what counts).
    function Get-ObjectId([string] $Yaml) {
        foreach ($doc in ($Yaml -split '(?m)^---\s*$')) {
            $kind = [regex]::Match($doc, '(?m)^kind: (\S+)').Groups[1].Value
            if (-not $kind) { continue }
            $name = [regex]::Match($doc, '(?m)^  name: (\S+)').Groups[1].Value
            $ns = [regex]::Match($doc, '(?m)^  namespace: (\S+)').Groups[1].Value
            "$kind $ns/$name"
        }
    }
}

Describe 'Export-MeshManifest -Format' {
    It 'Kustomize: kubectl kustomize prints each cluster''s objects in the order of the files layout' {
        $files = Join-Path $TestDrive 'files'
        $tree = Join-Path $TestDrive 'kustomize'
        Import-MeshTopology -Path $seed001 | Export-MeshManifest -Path $files -WarningAction SilentlyContinue
        $written = Import-MeshTopology -Path $seed001 | Export-MeshManifest -Path $tree -Format Kustomize -PassThru -WarningAction SilentlyContinue
        $written.Name | Should -Contain 'kustomization.yaml'
        foreach ($cluster in 'blue', 'green') {
            $built = kubectl kustomize (Join-Path $tree "clusters/$cluster") 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($built -join "`n")
            $expected = Get-ObjectId (Get-Content -Raw (Join-Path $files "$cluster.yaml"))
            $expected.Count | Should -BeGreaterThan 3
            Get-ObjectId ($built -join "`n") | Should -Be $expected
        }
    }

    It 'ArgoCD: needs -RepoUrl (nothing written), then writes the ApplicationSet; -WhatIf writes nothing' {
        $tree = Join-Path $TestDrive 'argocd'
        Import-MeshTopology -Path $seed001 | Export-MeshManifest -Path $tree -Format ArgoCD -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $err | Should -Not -BeNullOrEmpty
        "$err" | Should -Match 'RepoUrl'
        Test-Path $tree | Should -BeFalse
        Import-MeshTopology -Path $seed001 | Export-MeshManifest -Path $tree -Format ArgoCD -RepoUrl https://git.example.com/mesh.git -WhatIf -WarningAction SilentlyContinue
        Test-Path $tree | Should -BeFalse
        Import-MeshTopology -Path $seed001 | Export-MeshManifest -Path $tree -Format ArgoCD -RepoUrl https://git.example.com/mesh.git -Revision main -ClusterSelector @{ mesh = 'federated' } -WarningAction SilentlyContinue
        $appSet = Get-Content -Raw (Join-Path $tree 'argocd/applicationset.yaml')
        $appSet | Should -Match 'targetRevision: main'
        $appSet | Should -Match 'mesh: federated'
        Get-Content -Raw (Join-Path $tree 'clusters/blue/002-servicemeshcontrolplane-blue-mesh-system-blue-mesh.yaml') | Should -Match 'SkipDryRunOnMissingResource=true'
    }
}

Describe 'Test-MeshFederation -OcmHub' {
    BeforeAll {
        $kube = Start-TestKube -Cluster hub
        function kc { kubectl --kubeconfig $kube.Kubeconfig --context hub @args 2>&1 }
    }
    AfterAll { Stop-TestKube $kube }

    It 'reads the ManifestWorks Export-MeshManifest -Format Ocm wrote, and fails what no agent reported' {
        $tree = Join-Path $TestDrive 'ocm'
        Import-MeshTopology -Path $seed002 | Export-MeshManifest -Path $tree -Format Ocm -ClusterSet mesh-clusters -WarningAction SilentlyContinue
        foreach ($ns in 'managedcluster1', 'managedcluster2', 'meshfederation') { kc create namespace $ns | Out-Null }
        $applied = kc apply --server-side --validate=strict -k $tree
        $LASTEXITCODE | Should -Be 0 -Because ($applied -join "`n")
        $results = Test-MeshFederation -OcmHub hub -Path $seed002 -KubeConfig $kube.Kubeconfig
        $work = @($results | Where-Object CheckId -eq 'OCM.WorkApplied')
        $work.Count | Should -Be 2
        $work.Status | Should -Be @('Fail', 'Fail')
        $work[0].Message | Should -Match 'has no status'
        @($results | Where-Object Status -eq 'Pass').Count | Should -Be 0
        Test-MeshFederation -OcmHub hub -Path $seed002 -KubeConfig $kube.Kubeconfig -Quiet | Should -BeFalse
    }
}
