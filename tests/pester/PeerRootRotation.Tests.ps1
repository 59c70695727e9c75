#Requires -Version 7.4
# Issue 18, OSSM 2 federation: blue-mesh's root rotated in green's blue-mesh-ca-root-cert through the cmdlets (-Mesh),
# in real pwsh against fake API servers in their own process (seed 001 synced; blue-mesh signs with its user's
# cacerts; the fake istiod takes up a changed root when its pod is deleted), judged by kubectl and openssl.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) ('meshfed-peer-rotation-' + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory $work
    $kube = Start-TestKube -Cluster blue, green -Operator ossm2 -Namespace nfs-app-istio
    $kc = $kube.Kubeconfig
    function kc([string] $Context) { kubectl --kubeconfig $kc --context $Context @args }
    $null = New-MeshCertificateAuthority -Cluster blue -KeyAlgorithm EcdsaP256 -Path (Join-Path $work 'old')
    $null = New-MeshCertificateAuthority -Cluster blue -KeyAlgorithm EcdsaP256 -Path (Join-Path $work 'new')
    $newCert = Join-Path $work 'new/root-cert.pem'
    function Set-BlueCa([string] $Folder) {
        $files = 'ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem' | ForEach-Object { "--from-file=$_=$(Join-Path $work "$Folder/blue/$_")" }
        kc blue -n blue-mesh-system delete secret cacerts --ignore-not-found | Out-Null
        kc blue -n blue-mesh-system create secret generic cacerts @files | Out-Null
    }
    kc blue create namespace blue-mesh-system | Out-Null
    Set-BlueCa old
    $topology = Join-Path $work 'seed-001.yaml'
    Get-Content (Join-Path $PSScriptRoot '../../examples/seed-001-blue-green.yaml') | Where-Object { $_ -notmatch 'ingressAddresses|LoadBalancer IP of blue' } | Set-Content $topology
    Sync-MeshFederation -Path $topology -KubeConfig $kc -Confirm:$false -WarningAction SilentlyContinue | Out-Null
    function Get-Bundle { kc green -n green-mesh-system get configmap blue-mesh-ca-root-cert -o 'jsonpath={.data.root-cert\.pem}' | Out-String }
    function Get-BundleVersion { kc green -n green-mesh-system get configmap blue-mesh-ca-root-cert -o 'jsonpath={.metadata.resourceVersion}' }
    function Test-Verifies([string] $Intermediate) {
        $bundle = Join-Path $work "bundle-$([guid]::NewGuid().ToString('n')).pem"
        Set-Content $bundle (Get-Bundle)
        $null = openssl verify -CAfile $bundle (Join-Path $work "$Intermediate/blue/ca-cert.pem") 2>&1
        $LASTEXITCODE -eq 0
    }
}
AfterAll {
    Stop-TestKube $kube
    Remove-Item -Recurse -Force $work -ErrorAction Ignore
}

Describe 'A peer root rotation through the cmdlets (-Mesh)' {
    It '-WhatIf shows the peer ConfigMap change and changes nothing' {
        $before = Get-BundleVersion
        $r = Invoke-InHost -Script 'Start-MeshRootRotation -Context blue, green -Mesh blue-mesh -KubeConfig $kc -NewRootCertificatePath $newCert -WhatIf' -Variables @{ kc = $kc; newCert = $newCert }
        $r.Text | Should -Match 'What if: .*trust-add: root-cert.pem: add blue-mesh''s new root .* on target "ConfigMap green-mesh-system/blue-mesh-ca-root-cert in cluster green"'
        Get-BundleVersion | Should -Be $before
        $status = Get-MeshRootRotation -Context blue, green -Mesh blue-mesh -KubeConfig $kc
        $status | Should -BeOfType MeshFederation.Engine.Rotation.PeerRootRotationStatus
        $status.Stage | Should -Be 'NotStarted'
        $status.Peers.ConfigMap | Should -Be 'blue-mesh-ca-root-cert'
    }

    It 'runs trust-add, reissue (not verified until blue switches its CA, then resumed) and trust-remove; openssl judges green''s bundle' {
        (Test-Verifies old) | Should -BeTrue
        $result = Start-MeshRootRotation -Context blue, green -Mesh blue-mesh -KubeConfig $kc -NewRootCertificatePath $newCert -Confirm:$false
        $result.Verified | Should -BeTrue
        $result.Stage | Should -Be 'TrustAdded'
        ([regex]::Matches((Get-Bundle), 'BEGIN CERTIFICATE')).Count | Should -Be 2
        (Test-Verifies old) | Should -BeTrue
        (Test-Verifies new) | Should -BeTrue

        # Reissue before blue switched its CA: applied nothing, not verified, a RotationNotVerified error; nothing recorded.
        Step-MeshRootRotation blue, green -Mesh blue-mesh -KubeConfig $kc -WaitTimeout 1s -Confirm:$false -ErrorVariable failed -ErrorAction SilentlyContinue | Out-Null
        $failed[0].FullyQualifiedErrorId | Should -Match '^MeshFederation.RotationNotVerified'
        $failed[0].ErrorDetails.RecommendedAction | Should -Match 'Step-MeshRootRotation -Mesh blue-mesh -Phase Reissue'
        (Get-MeshRootRotation blue, green -Mesh blue-mesh -KubeConfig $kc).NextPhase | Should -Be 'Reissue'

        # blue's owner switches its cacerts to the new root and restarts istiod; the phase resumes and is verified.
        Set-BlueCa new
        kc blue -n blue-mesh-system delete pod istiod-blue-mesh-0 | Out-Null
        $result = Step-MeshRootRotation blue, green -Mesh blue-mesh -KubeConfig $kc -Confirm:$false
        $result.Phase | Should -Be 'Reissue'
        $result.Verified | Should -BeTrue

        $result = Step-MeshRootRotation blue, green -Mesh blue-mesh -KubeConfig $kc -Confirm:$false
        $result.Stage | Should -Be 'Completed'
        ([regex]::Matches((Get-Bundle), 'BEGIN CERTIFICATE')).Count | Should -Be 1
        (Test-Verifies new) | Should -BeTrue
        (Test-Verifies old) | Should -BeFalse
        kc blue -n blue-mesh-system get configmap meshfed-peer-root-rotation -o 'jsonpath={.metadata.annotations.rotation\.meshfederation\.io/stage}' | Should -Be 'completed'
    }
}
