#Requires -Version 7.4
# Issue 18: the root rotation cmdlets in real pwsh against fake API servers in their own process (a fake istiod that
# reloads cacerts as istiod does), judged by kubectl and openssl.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) ('meshfed-rotation-' + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory $work
    $kube = Start-TestKube -Cluster east, west -Operator sail
    $kc = $kube.Kubeconfig
    $null = New-MeshCertificateAuthority -Cluster east, west -KeyAlgorithm EcdsaP256 -Path (Join-Path $work 'old')
    $null = New-MeshCertificateAuthority -KeyAlgorithm EcdsaP256 -Path (Join-Path $work 'new')
    $newCert = Join-Path $work 'new/root-cert.pem'
    $newKey = Join-Path $work 'new/root-key.pem'
    function Set-Istiod([string] $Context, [string] $MultiRoot) {
        $null = @"
apiVersion: sailoperator.io/v1
kind: Istio
metadata:
  name: default
spec:
  version: v1.27.3
  namespace: istio-system
  values:
    pilot:
      env:
        ISTIO_MULTIROOT_MESH: "$MultiRoot"
"@ | kubectl --kubeconfig $kc --context $Context apply -f -
    }
    foreach ($c in 'east', 'west') {
        $null = kubectl --kubeconfig $kc --context $c create namespace istio-system
        $files = 'ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem' | ForEach-Object { "--from-file=$_=$(Join-Path $work "old/$c/$_")" }
        $null = kubectl --kubeconfig $kc --context $c -n istio-system create secret generic cacerts @files
    }
    function Get-Published([string] $Context) {
        kubectl --kubeconfig $kc --context $Context -n istio-system get configmap istio-ca-root-cert -o 'jsonpath={.data.root-cert\.pem}' | Out-String
    }
    function Get-CacertsVersion([string] $Context) { kubectl --kubeconfig $kc --context $Context -n istio-system get secret cacerts -o 'jsonpath={.metadata.resourceVersion}' }
}
AfterAll {
    Stop-TestKube $kube
    Remove-Item -Recurse -Force $work -ErrorAction Ignore
}

Describe 'Start-MeshRootRotation refuses when ISTIO_MULTIROOT_MESH is off' {
    It 'writes an error naming the Istio CR field and changes nothing' {
        Set-Istiod east 'false'; Set-Istiod west 'false'
        $before = Get-CacertsVersion east
        Start-MeshRootRotation -Context east, west -KubeConfig $kc -NewRootCertificatePath $newCert -Confirm:$false -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed.Count | Should -Be 2
        $failed[0].ErrorDetails.RecommendedAction | Should -Match 'spec.values.pilot.env.ISTIO_MULTIROOT_MESH'
        $failed[0].ErrorDetails.RecommendedAction | Should -Match 'kubectl --context east patch istio default --type merge'
        Get-CacertsVersion east | Should -Be $before
    }
}

Describe 'A rotation through the cmdlets' {
    BeforeAll { Set-Istiod east 'true'; Set-Istiod west 'true'; Start-Sleep -Milliseconds 300 }

    It '-WhatIf shows every cacerts change and changes nothing' {
        $before = Get-CacertsVersion west
        $r = Invoke-InHost -Script 'Start-MeshRootRotation -Context east, west -KubeConfig $kc -NewRootCertificatePath $newCert -WhatIf' -Variables @{ kc = $kc; newCert = $newCert }
        ($r.Text | Select-String 'What if: .*trust-add: root-cert.pem: add the new root' -AllMatches).Matches.Count | Should -Be 2
        Get-CacertsVersion west | Should -Be $before
        (Get-MeshRootRotation -Context east, west -KubeConfig $kc).Stage | Should -Be 'NotStarted'
    }

    It 'runs trust-add, reissue and trust-remove, each verified and recorded; openssl judges the bundles in force' {
        $oldLeafCa = Join-Path $work 'old/east/ca-cert.pem'
        $result = Start-MeshRootRotation -Context east, west -KubeConfig $kc -NewRootCertificatePath $newCert -Confirm:$false
        $result.Verified | Should -BeTrue
        $result.Stage | Should -Be 'TrustAdded'
        foreach ($c in 'east', 'west') { ([regex]::Matches((Get-Published $c), 'BEGIN CERTIFICATE')).Count | Should -Be 2 }
        # The old intermediate still chains to a root istiod publishes; so does the new root itself.
        Set-Content (Join-Path $work 'bundle.pem') (Get-Published west)
        openssl verify -CAfile (Join-Path $work 'bundle.pem') $oldLeafCa | Should -Match ': OK'

        (Get-MeshRootRotation east, west -KubeConfig $kc).NextPhase | Should -Be 'Reissue'
        $result = Step-MeshRootRotation east, west -KubeConfig $kc -NewRootCertificatePath $newCert -NewRootKeyPath $newKey -Confirm:$false
        $result.Phase | Should -Be 'Reissue'
        $result.Verified | Should -BeTrue
        $newCa = Join-Path $work 'new-east-ca.pem'
        $b64 = kubectl --kubeconfig $kc --context east -n istio-system get secret cacerts -o 'jsonpath={.data.ca-cert\.pem}'
        [IO.File]::WriteAllBytes($newCa, [Convert]::FromBase64String($b64))
        openssl verify -CAfile (Join-Path $work 'bundle.pem') $newCa | Should -Match ': OK'
        openssl verify -CAfile (Join-Path $work 'bundle.pem') $oldLeafCa | Should -Match ': OK'

        # Run again, as after an interruption: nothing left to change, verified again.
        (Step-MeshRootRotation east, west -KubeConfig $kc -Phase Reissue -Confirm:$false).Applied | Should -BeNullOrEmpty

        $result = Step-MeshRootRotation east, west -KubeConfig $kc -Confirm:$false
        $result.Stage | Should -Be 'Completed'
        Set-Content (Join-Path $work 'final.pem') (Get-Published east)
        ([regex]::Matches((Get-Published east), 'BEGIN CERTIFICATE')).Count | Should -Be 1
        openssl verify -CAfile (Join-Path $work 'final.pem') $newCa | Should -Match ': OK'
        openssl verify -CAfile (Join-Path $work 'final.pem') $oldLeafCa 2>&1 | Out-String | Should -Not -Match ': OK'
        kubectl --kubeconfig $kc --context west -n istio-system get configmap meshfed-root-rotation -o 'jsonpath={.metadata.annotations.rotation\.meshfederation\.io/stage}' | Should -Be 'completed'
    }
}
