#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# Test-MeshFederation on snapshots of real upstream status shapes (tests/fixtures/snapshots, see SOURCE.md there): issue
# 12's five misses through the PowerShell face. Each case copies a healthy fixture and breaks one thing in the copy.

BeforeAll {
    $modulePath = if ($env:MESHFED_MODULE_PATH) { $env:MESHFED_MODULE_PATH } else {
        Join-Path $PSScriptRoot '../../src/MeshFederation/bin/Release/net8.0/MeshFederation.psd1'
    }
    Import-Module $modulePath -Force
    $script:fixtures = Join-Path $PSScriptRoot '../fixtures/snapshots'

    function Copy-Fixture([string] $Name) {
        $to = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Copy-Item -Path (Join-Path $script:fixtures $Name) -Destination $to -Recurse
        Remove-Item (Join-Path $to 'SOURCE.md') -ErrorAction Ignore
        $to
    }

    function Edit-Text([string] $Path, [string] $From, [string] $To) {
        $text = Get-Content -Raw -LiteralPath $Path
        $text.Contains($From) | Should -BeTrue -Because "$Path holds '$From'"
        Set-Content -LiteralPath $Path -Value $text.Replace($From, $To) -NoNewline
    }

    function Get-Result($Results, [string] $CheckId, [string] $Mesh) {
        @($Results | Where-Object { $_.CheckId -eq $CheckId -and $_.Mesh -eq $Mesh })
    }
}

Describe 'Test-MeshFederation on snapshots (issue 12)' {
    It 'item 1: fails ISTIO.RemoteSecretBothWays when a cluster holds no remote secret for the other' {
        $dir = Copy-Fixture 'seed-003'
        $objects = Join-Path $dir 'cluster1/objects.yaml'
        Edit-Text $objects 'istio-remote-secret-cluster2' 'istio-remote-secret-retired'
        Edit-Text $objects 'networking.istio.io/cluster: cluster2' 'networking.istio.io/cluster: retired'
        Edit-Text $objects "    cluster2: ''" "    retired: ''"
        $rc = Join-Path $dir 'cluster1/remote-clusters.txt'
        Get-Content $rc | Where-Object { -not $_.StartsWith('cluster2') } | Set-Content $rc
        $results = Test-MeshFederation -Snapshot $dir
        $both = $results | Where-Object { $_.CheckId -eq 'ISTIO.RemoteSecretBothWays' -and $_.Status -eq 'Fail' }
        $both | Should -Not -BeNullOrEmpty
        $results.Message | Should -Not -Match 'not known offline'
    }

    It 'item 2: a peer without its control plane is an ErrorRecord that says what was found' {
        $dir = Join-Path $TestDrive 'orphan'
        New-Item -ItemType Directory -Path (Join-Path $dir 'mesh1') | Out-Null
        @'
apiVersion: federation.maistra.io/v1
kind: ServiceMeshPeer
metadata:
  name: mesh2
  namespace: mesh1-system
spec:
  remote:
    addresses: [192.168.127.11]
  gateways:
    ingress: {name: mesh2-ingress}
    egress: {name: mesh2-egress}
  security:
    trustDomain: mesh2.local
    clientID: mesh2.local/ns/mesh2-system/sa/mesh1-egress-service-account
status:
  discoveryStatus:
    inactive:
    - pod: istiod-fed-export-59c5865775-bq9zl
      watch:
        connected: false
        lastDisconnectStatus: 503 Service Unavailable
'@ | Set-Content (Join-Path $dir 'mesh1/peer.yaml')
        $err = $null
        $results = Test-MeshFederation -Snapshot $dir -ErrorVariable err -ErrorAction SilentlyContinue
        $results | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.NotFound*'
        $err[0].Exception.Message | Should -Match 'ServiceMeshPeer mesh1-system/mesh2'
    }

    It 'item 2: table text in a snapshot is an ErrorRecord naming the file and the -o yaml command' {
        $dir = Copy-Fixture 'seed-001'
        @'
NAME        READY   STATUS            PROFILES      VERSION   AGE
blue-mesh   10/10   ComponentsReady   ["default"]   2.1.4     118s
'@ | Set-Content (Join-Path $dir 'blue/objects.yaml')
        $err = $null
        $results = Test-MeshFederation -Snapshot $dir -ErrorVariable err -ErrorAction SilentlyContinue
        $results | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.InvalidTopology*'
        $err[0].Exception.Message | Should -Match 'objects\.yaml'
        $err[0].Exception.Message | Should -Match '-o yaml'
    }

    It 'item 3: checks seed 000 (SMCPs fed-export/fed-import, peers mesh1/mesh2) in full and fails a wrong identity' {
        $dir = Copy-Fixture 'seed-000'
        $asOf = [datetime]::Parse('2021-10-07T04:17:00Z').ToUniversalTime()
        $healthy = Test-MeshFederation -Snapshot $dir -AsOf $asOf
        (Get-Result $healthy 'OSSM2.PeerIdentity' 'fed-export').Status | Should -Be 'Pass'
        (Get-Result $healthy 'OSSM2.PeerRootCertificate' 'fed-import').Status | Should -Be 'Pass'
        $objects = Join-Path $dir 'mesh1/objects.yaml'
        Edit-Text $objects 'trustDomain: mesh2.local' 'trustDomain: cluster.local'
        Edit-Text $objects 'clientID: mesh2.local/ns/mesh2-system/sa/mesh1-egress-service-account' 'clientID: mesh2.local/ns/mesh2-system/sa/default'
        $broken = Test-MeshFederation -Snapshot $dir -AsOf $asOf
        $identity = Get-Result $broken 'OSSM2.PeerIdentity' 'fed-export'
        $identity.Status | Should -Be 'Fail'
        $identity.Message | Should -Match 'mesh1-egress-service-account'
    }

    It 'item 4: fails a peer address that is not the remote gateway''s and shows both' {
        $dir = Copy-Fixture 'seed-001'
        Edit-Text (Join-Path $dir 'blue/objects.yaml') "      - 10.19.3.30`n" "      - 10.19.3.31`n"
        $results = Test-MeshFederation -Snapshot $dir -AsOf ([datetime]::Parse('2022-08-02T13:32:00Z').ToUniversalTime())
        $failed = $results | Where-Object { $_.Status -eq 'Fail' -and $_.Message -match '10\.19\.3\.31' -and $_.Message -match '10\.19\.3\.30' }
        $failed | Should -Not -BeNullOrEmpty
    }

    It 'item 5: a full sync five hours old fails, against the 60 s resync' {
        $dir = Copy-Fixture 'seed-001'
        $fresh = Test-MeshFederation -Snapshot $dir -AsOf ([datetime]::Parse('2022-08-02T13:32:00Z').ToUniversalTime())
        $fresh | Where-Object Status -eq 'Fail' | Should -BeNullOrEmpty
        $stale = Test-MeshFederation -Snapshot $dir -AsOf ([datetime]::Parse('2022-08-02T18:31:48Z').ToUniversalTime())
        (Get-Result $stale 'OSSM2.PeerSyncAge' 'blue-mesh').Status | Should -Be 'Fail'
    }

    It 'item 5: a watch that is down fails with its lastDisconnectStatus in the evidence' {
        $dir = Copy-Fixture 'seed-001'
        $green = Join-Path $dir 'green/objects.yaml'
        $text = Get-Content -Raw -LiteralPath $green
        $start = $text.IndexOf("  status:`n    discoveryStatus:")
        $start | Should -BeGreaterThan 0
        $end = $text.IndexOf("`n- ", $start)
        $inactive = @(
            '  status:'
            '    discoveryStatus:'
            '      inactive:'
            '      - pod: istiod-green-mesh-594f485c4c-7k57m'
            '        watch:'
            '          connected: false'
            "          lastConnected: '2022-08-01T18:01:48Z'"
            "          lastDisconnect: '2022-08-02T13:31:02Z'"
            '          lastDisconnectStatus: 503 Service Unavailable'
            "          lastFullSync: '2022-08-02T13:30:48Z'"
        ) -join "`n"
        Set-Content -LiteralPath $green -Value ($text.Substring(0, $start) + $inactive + $text.Substring($end)) -NoNewline
        $results = Test-MeshFederation -Snapshot $dir -AsOf ([datetime]::Parse('2022-08-02T13:32:00Z').ToUniversalTime())
        $connected = Get-Result $results 'OSSM2.PeerConnected' 'green-mesh'
        $connected.Status | Should -Be 'Fail'
        ($connected.Evidence | ForEach-Object { "$_" }) -join ' ' | Should -Match '503 Service Unavailable'
    }
}

Describe 'Test-MeshFederation -Live on test clusters (issue 12)' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
        $examples = Join-Path $PSScriptRoot '../../examples'
        function kc($Kube, [string] $Context) { kubectl --kubeconfig $Kube.Kubeconfig --context $Context @args 2>&1 }
    }

    It 'item 4: fails a ServiceMeshPeer pointing elsewhere than the remote gateway''s LoadBalancer, showing both' {
        $kube = Start-TestKube -Cluster blue, green -Operator ossm2, federation -Namespace nfs-app-istio
        try {
            # Seed 001 with the addresses read from the clusters (as a user applies it live).
            $topology = Join-Path $TestDrive 'seed-001-live.yaml'
            Get-Content (Join-Path $examples 'seed-001-blue-green.yaml') | Where-Object { $_ -notmatch 'ingressAddresses|LoadBalancer IP of blue' } | Set-Content $topology
            Sync-MeshFederation -Path $topology -KubeConfig $kube.Kubeconfig -Confirm:$false -WarningAction SilentlyContinue | Out-Null
            $healthy = Test-MeshFederation -Path $topology -Live -KubeConfig $kube.Kubeconfig
            $healthy | Where-Object Status -eq 'Fail' | Should -BeNullOrEmpty
            $gateway = (kc $kube green -n green-mesh-system get service ingress-blue-mesh -o 'jsonpath={.status.loadBalancer.ingress[0].ip}' | Out-String).Trim()
            $gateway | Should -Match '^10\.19\.'
            kc $kube blue -n blue-mesh-system patch servicemeshpeer green-mesh --type merge -p '{"spec":{"remote":{"addresses":["10.19.9.99"]}}}' | Out-Null
            $LASTEXITCODE | Should -Be 0
            $results = Test-MeshFederation -Path $topology -Live -KubeConfig $kube.Kubeconfig
            $address = Get-Result $results 'OSSM2.PeerAddress' 'blue-mesh'
            $address.Status | Should -Be 'Fail'
            $address.Message | Should -Match '10\.19\.9\.99'
            $address.Message | Should -Match ([regex]::Escape($gateway))
        }
        finally { Stop-TestKube $kube }
    }

    It 'item 1: fails ISTIO.RemoteSecretBothWays live once a remote secret is deleted, and says nothing is unknown offline' {
        $kube = Start-TestKube -Cluster cluster1, cluster2 -Operator sail -Namespace sample
        try {
            $ca = New-MeshCertificateAuthority -Cluster cluster1, cluster2 -KeyAlgorithm EcdsaP256
            $set = @(Import-MeshTopology -Path (Join-Path $examples 'seed-003-multi-primary.yaml')) + @($ca)
            $set | Sync-MeshFederation -KubeConfig $kube.Kubeconfig -Confirm:$false -WarningAction SilentlyContinue | Out-Null
            $healthy = $set | Test-MeshFederation -Live -KubeConfig $kube.Kubeconfig
            ($healthy | Where-Object CheckId -eq 'ISTIO.RemoteSecretBothWays').Status | Sort-Object -Unique | Should -Be 'Pass'
            ($healthy | Where-Object CheckId -eq 'ISTIO.RemoteSecretUsable').Status | Sort-Object -Unique | Should -Be 'Pass'
            kc $kube cluster1 -n istio-system delete secret istio-remote-secret-cluster2 | Out-Null
            $LASTEXITCODE | Should -Be 0
            $results = $set | Test-MeshFederation -Live -KubeConfig $kube.Kubeconfig
            $missing = $results | Where-Object { $_.CheckId -eq 'ISTIO.RemoteSecretBothWays' -and $_.Cluster -eq 'cluster1' }
            $missing.Status | Should -Be 'Fail'
            $results.Message | Should -Not -Match 'not known offline'
            $results.CheckId | Should -Not -Contain 'ISTIO.LiveNotObserved'
        }
        finally { Stop-TestKube $kube }
    }
}
