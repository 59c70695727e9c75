#Requires -Version 7.4
# Issue 18: Update-MeshRemoteSecret in real pwsh against fake API servers in their own process (the token controller
# stood in for), judged by kubectl: which tokens west's API server accepts before and after.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $work = Join-Path ([System.IO.Path]::GetTempPath()) ('meshfed-credentials-' + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory $work
    $kube = Start-TestKube -Cluster east, west -Operator sail
    $kc = $kube.Kubeconfig
    function k([string] $Context) { kubectl --kubeconfig $kc --context $Context @args }
    foreach ($c in 'east', 'west') { $null = k $c create namespace istio-system }
    # west's reader as istioctl create-remote-secret sets it up; made with kubectl, so not meshfed's.
    $null = @'
apiVersion: v1
kind: ServiceAccount
metadata: {name: istio-reader-service-account, namespace: istio-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: istio-reader-clusterrole-istio-system}
rules:
- apiGroups: [""]
  resources: [services, endpoints, pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: istio-reader-clusterrole-istio-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: istio-reader-clusterrole-istio-system}
subjects:
- {kind: ServiceAccount, name: istio-reader-service-account, namespace: istio-system}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: istio-reader-service-account-istio-remote-secret-token
  namespace: istio-system
  annotations: {kubernetes.io/service-account.name: istio-reader-service-account}
'@ | kubectl --kubeconfig $kc --context west apply -f -
    $deadline = (Get-Date).AddSeconds(20)
    while (-not ($b64 = k west -n istio-system get secret istio-reader-service-account-istio-remote-secret-token -o 'jsonpath={.data.token}') -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
    $legacyToken = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($b64))
    $server = kubectl --kubeconfig $kc config view --raw --minify --context west -o 'jsonpath={.clusters[0].cluster.server}'
    $caData = kubectl --kubeconfig $kc config view --raw --minify --context west -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}'
    $caFile = Join-Path $work 'west-ca.pem'
    [IO.File]::WriteAllBytes($caFile, [Convert]::FromBase64String($caData))
    $empty = Join-Path $work 'empty-kubeconfig'
    Set-Content $empty "apiVersion: v1`nkind: Config`n"
    # east's remote secret for west, as istioctl create-remote-secret --name=west makes it.
    $remote = @{
        apiVersion = 'v1'; kind = 'Config'; 'current-context' = 'west'
        clusters = @(@{ name = 'west'; cluster = @{ server = $server; 'certificate-authority-data' = $caData } })
        contexts = @(@{ name = 'west'; context = @{ cluster = 'west'; user = 'west' } })
        users = @(@{ name = 'west'; user = @{ token = $legacyToken } })
    } | ConvertTo-Json -Depth 5
    $remoteFile = Join-Path $work 'west.kubeconfig'
    Set-Content $remoteFile $remote
    $null = k east -n istio-system create secret generic istio-remote-secret-west "--from-file=west=$remoteFile"
    $null = k east -n istio-system label secret istio-remote-secret-west istio/multiCluster=true
    $null = k east -n istio-system annotate secret istio-remote-secret-west networking.istio.io/cluster=west
    Remove-Item $remoteFile

    function Get-RemoteToken {
        $data = k east -n istio-system get secret istio-remote-secret-west -o 'jsonpath={.data.west}'
        ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($data)) | ConvertFrom-Json).users[0].user.token
    }
    # What west's API server says to kubectl with the token: its API versions, or Unauthorized.
    function Test-Token([string] $Token) {
        $out = kubectl --kubeconfig $empty --server $server --certificate-authority $caFile --token $Token get --raw /api 2>&1 | Out-String
        if ($LASTEXITCODE -eq 0 -and $out -match 'APIVersions') { 'accepted' } elseif ($out -match 'Unauthorized') { 'Unauthorized' } else { $out }
    }
    function Get-SecretVersion { k east -n istio-system get secret istio-remote-secret-west -o 'jsonpath={.metadata.resourceVersion}' }
    function Get-TokenSecrets { @(k west -n istio-system get secrets -o json | ConvertFrom-Json).items | Where-Object type -eq 'kubernetes.io/service-account-token' | ForEach-Object { $_.metadata.name } | Sort-Object }
}
AfterAll {
    Stop-TestKube $kube
    Remove-Item -Recurse -Force $work -ErrorAction Ignore
}

Describe 'Update-MeshRemoteSecret refuses what it may not change' {
    It 'refuses a remote secret meshfed did not create without -TakeOver, naming it and the switch; changes nothing' {
        Test-Token $legacyToken | Should -Be 'accepted'
        $before = Get-SecretVersion
        Update-MeshRemoteSecret west -Context east, west -KubeConfig $kc -Confirm:$false -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed.Count | Should -Be 1
        "$($failed[0])" | Should -Match 'Secret istio-system/istio-remote-secret-west'
        $failed[0].ErrorDetails.RecommendedAction | Should -Match '-TakeOver'
        Get-SecretVersion | Should -Be $before
        Get-TokenSecrets | Should -Be @('istio-reader-service-account-istio-remote-secret-token')
    }

    It '-WhatIf shows the new token and the update, and changes nothing' {
        $before = Get-SecretVersion
        $r = Invoke-InHost -Script 'Update-MeshRemoteSecret west -Context east, west -KubeConfig $kc -TakeOver -WhatIf' -Variables @{ kc = $kc }
        $r.Text | Should -Match 'What if: Performing the operation "Create: a long-lived token Secret .* for istio-reader-service-account'
        $r.Text | Should -Match 'What if: .*taken over.* on target "Secret istio-system/istio-remote-secret-west in cluster east"'
        $r.Text | Should -Not -Match 'What if: Performing the operation "Delete'
        Get-SecretVersion | Should -Be $before
        Get-TokenSecrets | Should -Be @('istio-reader-service-account-istio-remote-secret-token')
    }

    It 'refuses a bound token shorter than the API server issues, naming -TokenExpiry' {
        Update-MeshRemoteSecret west -Context east, west -KubeConfig $kc -TakeOver -TokenExpiry 5m -Confirm:$false -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        "$($failed[0])" | Should -Match 'TokenExpiry'
        "$($failed[0])" | Should -Match 'at least 10 minutes'
    }
}

Describe 'Update-MeshRemoteSecret rotates west''s reader credential' {
    It 'issues a token Secret, updates and verifies the secret, and reports the foreign old token instead of deleting it' {
        $result = Update-MeshRemoteSecret west -Context east, west -KubeConfig $kc -TakeOver -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
        $result | Should -BeOfType ([MeshFederation.Engine.Rotation.CredentialRotationResult])
        $result.Verified | Should -BeTrue
        $result.Secrets.State | Should -Be 'Verified'
        $result.ServiceAccount | Should -Be 'istio-reader-service-account'
        $result.NewCredential | Should -Match '^token Secret istio-system/istio-reader-service-account-token-'
        $result.OldCredentials.State | Should -Be 'Reported'
        "$warned" | Should -Match 'kubectl --context west -n istio-system delete secret istio-reader-service-account-istio-remote-secret-token'
        ($result | Format-List * | Out-String) + ($result.Secrets | Out-String) | Should -Not -Match 'eyJ'
        $script:firstRotated = Get-RemoteToken
        $firstRotated | Should -Not -Be $legacyToken
        Test-Token $firstRotated | Should -Be 'accepted'
        Test-Token $legacyToken | Should -Be 'accepted' -Because 'a token Secret meshfed did not create is reported, not deleted'
        (Get-TokenSecrets).Count | Should -Be 2
    }

    It 'rotates again to a bound token and revokes the token Secret it created before' {
        $result = Update-MeshRemoteSecret west -Context east, west -KubeConfig $kc -TakeOver -TokenExpiry 1h -Confirm:$false -WarningAction SilentlyContinue
        $result.Verified | Should -BeTrue
        $result.Completed | Should -BeTrue
        ($result.NewCredentialExpires - [DateTimeOffset]::UtcNow).TotalMinutes | Should -BeGreaterThan 55
        ($result.OldCredentials | Where-Object State -eq 'Revoked').Credential | Should -Match 'istio-reader-service-account-token-'
        Test-Token $firstRotated | Should -Be 'Unauthorized'
        Test-Token (Get-RemoteToken) | Should -Be 'accepted'
        Get-TokenSecrets | Should -Be @('istio-reader-service-account-istio-remote-secret-token')
    }
}

Describe 'Sync-MeshFederation after Update-MeshRemoteSecret keeps the rotated credential' {
    BeforeAll {
        # Seed 003 applied by Sync-MeshFederation: cluster1's remote secret for cluster2 carries cluster2's reader token.
        $mp = Start-TestKube -Cluster cluster1, cluster2 -Operator sail -Namespace sample
        $mkc = $mp.Kubeconfig
        $null = New-MeshCertificateAuthority -Cluster cluster1, cluster2 -KeyAlgorithm EcdsaP256 -OutputPath (Join-Path $work 'certs') -Confirm:$false
        $topology = Join-Path $work 'seed-003.yaml'
        Set-Content $topology ((Get-Content (Join-Path $PSScriptRoot '../../examples/seed-003-multi-primary.yaml')) + 'certificateAuthority:' + '  dir: certs')
        Sync-MeshFederation -Path $topology -KubeConfig $mkc -Confirm:$false
        $server2 = kubectl --kubeconfig $mkc config view --raw --minify --context cluster2 -o 'jsonpath={.clusters[0].cluster.server}'
        $ca2 = Join-Path $work 'cluster2-ca.pem'
        [IO.File]::WriteAllBytes($ca2, [Convert]::FromBase64String((kubectl --kubeconfig $mkc config view --raw --minify --context cluster2 -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}')))
        function Get-Token2 {
            $data = kubectl --kubeconfig $mkc --context cluster1 -n istio-system get secret istio-remote-secret-cluster2 -o 'jsonpath={.data.cluster2}'
            ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($data)) | ConvertFrom-Json).users[0].user.token
        }
        # What cluster2's API server says to real kubectl with the token: its API versions, or Unauthorized; and what it may do.
        function Test-Token2([string] $Token) {
            $out = kubectl --kubeconfig $empty --server $server2 --certificate-authority $ca2 --token $Token get --raw /api 2>&1 | Out-String
            if ($LASTEXITCODE -eq 0 -and $out -match 'APIVersions') { 'accepted' } elseif ($out -match 'Unauthorized') { 'Unauthorized' } else { $out }
        }
        function Test-CanList2([string] $Token) { @(kubectl --kubeconfig $empty --server $server2 --certificate-authority $ca2 --token $Token auth can-i list services --all-namespaces 2>$null)[0] }
        function Get-TokenSecrets2 { @(kubectl --kubeconfig $mkc --context cluster2 -n istio-system get secrets -o json | ConvertFrom-Json).items | Where-Object type -eq 'kubernetes.io/service-account-token' | ForEach-Object { $_.metadata.name } | Sort-Object }
        function Get-Usable2 { Test-MeshFederation -Path $topology -Live -KubeConfig $mkc | Where-Object { $_.CheckId -eq 'ISTIO.RemoteSecretUsable' -and $_.Cluster -eq 'cluster1' } }
    }
    AfterAll { Stop-TestKube $mp }

    It 'keeps a rotated long-lived token: the same token after Sync, the revoked one stays rejected, nothing re-made, nothing to change' {
        $applied = Get-Token2
        Get-TokenSecrets2 | Should -Be @('meshfed-reader-istio-remote-secret-token')
        $result = Update-MeshRemoteSecret cluster2 -Context cluster1, cluster2 -KubeConfig $mkc -Confirm:$false
        $result.Completed | Should -BeTrue
        $rotated = Get-Token2
        $rotated | Should -Not -Be $applied
        Sync-MeshFederation -Path $topology -KubeConfig $mkc -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -Not -Match 'eyJ'
        Get-Token2 | Should -Be $rotated
        Test-Token2 $rotated | Should -Be 'accepted'
        Test-CanList2 $rotated | Should -Be 'yes'
        Test-Token2 $applied | Should -Be 'Unauthorized'
        $tokenSecrets = @(Get-TokenSecrets2)
        $tokenSecrets.Count | Should -Be 1
        $tokenSecrets[0] | Should -Match '^meshfed-reader-token-'
        $result.NewCredential | Should -Be "token Secret istio-system/$($tokenSecrets[0])"
        Get-MeshFederationPlan -Path $topology -KubeConfig $mkc -ChangesOnly | Should -BeNullOrEmpty
        (Get-Usable2).Status | Should -Be 'Pass'
    }

    It 'keeps a rotated bound token: no long-lived token Secret comes back, and the plan stays empty' {
        $before = Get-Token2
        $result = Update-MeshRemoteSecret cluster2 -Context cluster1, cluster2 -KubeConfig $mkc -TokenExpiry 2h -Confirm:$false
        $result.Completed | Should -BeTrue
        $bound = Get-Token2
        Sync-MeshFederation -Path $topology -KubeConfig $mkc -Confirm:$false
        Get-Token2 | Should -Be $bound
        Get-TokenSecrets2 | Should -BeNullOrEmpty
        Test-Token2 $bound | Should -Be 'accepted'
        Test-CanList2 $bound | Should -Be 'yes'
        Test-Token2 $before | Should -Be 'Unauthorized'
        Get-MeshFederationPlan -Path $topology -KubeConfig $mkc -ChangesOnly | Should -BeNullOrEmpty
        $usable = Get-Usable2
        $usable.Status | Should -Be 'Pass'
        $usable.Message | Should -Match "expires at $($result.NewCredentialExpires.UtcDateTime.ToString('yyyy-MM-dd'))"
    }
}
