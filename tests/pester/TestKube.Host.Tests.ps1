#Requires -Version 7.4
# tests/MeshFederation.TestKube.Host: fake API servers in a separate process, judged by real kubectl.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $kube = Start-TestKube -Cluster blue, green, 'c3:sail' -Operator ossm2, federation -Namespace nfs-app-istio -Unreachable gone -Unauthorized stranger
    function kc([string] $Context) { kubectl --kubeconfig $kube.Kubeconfig --context $Context @args 2>&1 }
}
AfterAll { Stop-TestKube $kube }

Describe 'MeshFederation.TestKube.Host' {
    It 'describes every cluster with its context, server and operators' {
        $kube.Clusters.name | Should -Be @('blue', 'green', 'c3')
        ($kube.Clusters | Where-Object name -eq 'c3').operators | Should -Be @('sail')
        ($kube.Clusters | Where-Object name -eq 'blue').operators | Should -Be @('ossm2', 'federation')
        $kube.Clusters.server | Should -Match '^https://127\.0\.0\.1:\d+$'
        $psd1 = Import-PowerShellDataFile (Join-Path $kube.Directory 'clusters.psd1')
        $psd1.clusters.name | Should -Be $kube.Clusters.name
    }

    It 'serves each context to kubectl, with the namespaces asked for and the operators'' nodes' {
        kc green get namespace nfs-app-istio -o name | Should -Be 'namespace/nfs-app-istio'
        kc blue get nodes -o name | Should -Be @('node/blue-node-1', 'node/blue-node-2')
        kc c3 get nodes -o name | Should -BeNullOrEmpty
        $LASTEXITCODE | Should -Be 0
    }

    It 'has an unreachable and an unauthorized context that fail as a real cluster would' {
        kc gone get namespaces | Out-String | Should -Match 'refused'
        kc stranger get namespaces | Out-String | Should -Match 'logged in|Unauthorized'
    }

    It 'stops when its stdin closes and on SIGTERM' {
        $one = Start-TestKube -Cluster solo
        $id = $one.Process.Id
        Stop-TestKube $one
        Get-Process -Id $id -ErrorAction Ignore | Should -BeNullOrEmpty
        Test-Path $one.Directory | Should -BeFalse
        if (-not $IsWindows) {
            $two = Start-TestKube -Cluster solo
            kill -TERM $two.Process.Id
            $two.Process.WaitForExit(15000) | Should -BeTrue
            $two.Process.ExitCode | Should -Be 0
            Stop-TestKube $two
        }
    }
}
