#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# Issue 16 through the real cmdlets: the OSSM 3 federation style built with the pipeline renders what the guide's
# topology renders (xunit Ossm3FederationTests compares that with the guide's objects field by field), bad input fails
# with the field and a fix, and ConvertTo-MeshOssm3Federation migrates an OSSM 2 federation from a topology, the
# pipeline, or test clusters (MeshFederation.TestKube.Host) loaded with the guide's OSSM 2 objects by kubectl.

BeforeAll {
    $modulePath = if ($env:MESHFED_MODULE_PATH) { $env:MESHFED_MODULE_PATH } else {
        Join-Path $PSScriptRoot '../../src/MeshFederation/bin/Release/net8.0/MeshFederation.psd1'
    }
    Import-Module $modulePath -Force
    $fixtures = Join-Path $PSScriptRoot '../MeshFederation.Tests/Fixtures'
    $guide = Join-Path $fixtures 'Upstream/ossm-migration-federation'
    $examples = Join-Path $PSScriptRoot '../../examples'

    function ConvertTo-Canonical([object] $Node) {
        if ($Node -is [System.Collections.IDictionary]) {
            $parts = foreach ($k in ($Node.Keys | Sort-Object -CaseSensitive)) { '"{0}":{1}' -f $k, (ConvertTo-Canonical $Node[$k]) }
            return '{' + ($parts -join ',') + '}'
        }
        if ($Node -is [System.Collections.IList]) { return '[' + (($Node | ForEach-Object { ConvertTo-Canonical $_ }) -join ',') + ']' }
        return ($Node | ConvertTo-Json -Compress)
    }

    function Get-RenderedJson([object] $Doc) {
        $text = if ($Doc.PSObject.Methods['GetContent']) { $Doc.GetContent().ToJsonString() } else { $Doc.Content.ToJsonString() }
        $text | ConvertFrom-Json -AsHashtable -Depth 64
    }

    # Every rendered object as "cluster kind namespace/name" => canonical JSON.
    function Get-RenderedMap([object[]] $Objects) {
        $map = @{}
        foreach ($c in ($Objects | ConvertTo-MeshManifest -WarningAction SilentlyContinue)) {
            foreach ($d in $c.Documents) { $map["$($c.Cluster) $($d.ApiVersion) $($d.Kind) $($d.Namespace)/$($d.Name)"] = ConvertTo-Canonical (Get-RenderedJson $d) }
        }
        $map
    }
}

Describe 'The OSSM 3 federation style through the cmdlets' {
    It 'renders every object the guide''s topology renders, field for field' {
        $accessLog = @{ values = @{ meshConfig = @{ accessLogFile = '/dev/stdout' } } }
        $east = New-MeshControlPlane -Name east-mesh -Style Ossm3Federation -Cluster east -Context east -Namespace istio-system -Version v1.24-latest -TrustDomain east.local -MemberNamespace client -SpecOverride $accessLog -RootCertificate (Get-Content -Raw (Join-Path $guide 'east-root-cert.pem'))
        $west = New-MeshControlPlane -Name west-mesh -Style Ossm3Federation -Cluster west -Context west -Namespace istio-system -Version v1.24-latest -TrustDomain west.local -MemberNamespace a, b -SpecOverride $accessLog -RootCertificate (Get-Content -Raw (Join-Path $guide 'west-root-cert.pem')) -IngressAddress @{ '*' = '192.0.2.10' }
        $east.Network | Should -Be 'network-east-mesh'
        $peers = $east, $west | New-MeshPeer
        $exports = 'a', 'b' | ForEach-Object { $west | Export-MeshService -Peer east-mesh -Namespace $_ -Name httpbin -Port http:8000:8080 -ServiceAccount httpbin -Selector @{ app = 'httpbin' } }
        $imports = @(
            $east | Import-MeshService -Peer west-mesh -Namespace a -ServiceEntryName httpbin-west-mesh-imports -EndpointLabel @{ app = 'httpbin-west-imports' }
            $east | Import-MeshService -Peer west-mesh -Namespace b -AliasNamespace b -ImportAsLocal -WorkloadEntryName httpbin-cluster-local-west-mesh -EndpointLabel @{ app = 'httpbin-cluster-local' }
        )
        $fromCmdlets = Get-RenderedMap @($east, $west, $peers, $exports, $imports)
        $fromTopology = Get-RenderedMap (Import-MeshTopology -Path (Join-Path $fixtures 'Topologies/ossm-migration-federation.yaml'))
        @($fromCmdlets.Keys | Sort-Object) | Should -Be @($fromTopology.Keys | Sort-Object)
        foreach ($k in $fromTopology.Keys) { $fromCmdlets[$k] | Should -Be $fromTopology[$k] -Because $k }
        $fromCmdlets.Keys | Should -Contain 'east gateway.networking.k8s.io/v1beta1 Gateway istio-system/remote-gateway-network-west-mesh'
        $fromCmdlets.Keys | Should -Contain 'west networking.istio.io/v1beta1 ServiceEntry a/httpbin-a-svc-east-mesh-exports-local'
    }

    It 'refuses a selector export and an -ExportTo on an OSSM 2 mesh, naming the field and the fix' {
        $west = New-MeshControlPlane -Name west-mesh -Style Ossm3Federation -Cluster west
        $null = $west | Export-MeshService -Peer east-mesh -Namespace a -LabelSelector @{ export = 'true' } -ErrorVariable bad -ErrorAction SilentlyContinue
        $bad | Should -HaveCount 1
        "$($bad[0])" | Should -Match 'one by one'
        $bad[0].ErrorDetails.RecommendedAction | Should -Match 'ExportedServiceSet status'
        $ossm2 = New-MeshControlPlane -Name m2 -Cluster c2
        $null = $ossm2 | Import-MeshService -Peer x -Namespace a -ExportTo client -ErrorVariable bad2 -ErrorAction SilentlyContinue
        ($bad2 | ForEach-Object { "$_" }) -join "`n" | Should -Match 'exportTo and workloadEntryName belong to OSSM 3 federation imports'
        $null = $west | Export-MeshService -Peer east-mesh -Namespace a -Name httpbin -Port 'http:80:x' -ErrorVariable bad3 -ErrorAction SilentlyContinue
        "$($bad3[0])" | Should -Match 'name:number\[:targetPort\]'
    }

    It 'checks offline what would be rendered, with evidence' {
        $results = Import-MeshTopology -Path (Join-Path $fixtures 'Topologies/ossm-migration-federation.yaml') | Test-MeshFederation
        $ours = $results | Where-Object CheckId -like 'OSSM3FED.*'
        $ours | Should -Not -BeNullOrEmpty
        $ours | Where-Object Status -eq 'Fail' | Should -BeNullOrEmpty
        ($ours | Where-Object { $_.CheckId -eq 'OSSM3FED.PeerRootTrusted' -and $_.Mesh -eq 'east-mesh' }).Message | Should -Match 'West Root CA'
        foreach ($r in $ours) { $r.Evidence | Should -Not -BeNullOrEmpty -Because $r.CheckId }
    }
}

Describe 'ConvertTo-MeshOssm3Federation' {
    It 'migrates an OSSM 2 topology into the guide''s eight steps and writes the plan' {
        $out = Join-Path $TestDrive 'migration'
        $m = ConvertTo-MeshOssm3Federation -Path (Join-Path $examples 'ossm2-federation-to-migrate.yaml') -OutputDirectory $out -WarningAction SilentlyContinue
        $m.GetType().FullName | Should -Be 'MeshFederation.Engine.Migration.MeshMigration'
        $m.Steps | Should -HaveCount 8
        $m.Steps[0].Title | Should -Be 'Configure the OSSM 2.6 control planes'
        $m.Steps[0].Actions[0].Command | Should -Be 'kubectl --context east -n istio-system patch smcp basic --type=merge --patch-file steps/1-prepare-ossm2/east.patch.json'
        $m.Target.ControlPlanes.Style | Sort-Object -Unique | Should -Be 'Ossm3Federation'
        Join-Path $out 'MIGRATION.md' | Should -Exist
        Join-Path $out 'steps/6-install-ossm3/west.yaml' | Should -Exist
        Get-Content -Raw (Join-Path $out 'steps/1-prepare-ossm2/east.patch.json') | ConvertFrom-Json | ForEach-Object { $_.spec.techPreview.meshConfig.trustDomainAliases } | Should -Be 'west.local'
        # The emitted topology loads and is checked like any other.
        $reloaded = Import-MeshTopology -Path (Join-Path $out 'ossm3-topology.yaml')
        ($reloaded | Where-Object { $_ -is [MeshFederation.Engine.Model.MeshControlPlane] }).Name | Should -Be @('east-mesh', 'west-mesh')
        $m.Target | Test-MeshFederation | Where-Object { $_.CheckId -eq 'OSSM3FED.ServiceDetailsKnown' } | ForEach-Object Status | Should -Be @('Warn', 'Warn')
    }

    It 'takes the pipeline, writes nothing with -WhatIf, and warns about what is not known yet' {
        $out = Join-Path $TestDrive 'whatif'
        $m = Import-MeshTopology -Path (Join-Path $examples 'ossm2-federation-to-migrate.yaml') | ConvertTo-MeshOssm3Federation -OutputDirectory $out -WhatIf -WarningVariable warned -WarningAction SilentlyContinue
        $m.Steps | Should -HaveCount 8
        $out | Should -Not -Exist
        ($warned -join "`n") | Should -Match 'remote-gateway-network-west-mesh spec.addresses'
    }

    It 'refuses what is not an OSSM 2 federation and a version the Sail CRD does not take' {
        $none = ConvertTo-MeshOssm3Federation -Path (Join-Path $examples 'ossm3-federation.yaml') -ErrorVariable bad -ErrorAction SilentlyContinue
        $none | Should -BeNullOrEmpty
        "$($bad[0])" | Should -Match "mesh 'east-mesh'.style"
        $null = ConvertTo-MeshOssm3Federation -Path (Join-Path $examples 'ossm2-federation-to-migrate.yaml') -Version v1.99.0 -ErrorVariable bad2 -ErrorAction SilentlyContinue
        "$($bad2[0])" | Should -Match 'v1.99.0'
        $bad2[0].ErrorDetails.RecommendedAction | Should -Match 'v1.24-latest'
    }
}

Describe 'ConvertTo-MeshOssm3Federation -Context' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
        $kube = Start-TestKube -Cluster east, west -Operator ossm2, federation -Namespace istio-system
        # kubectl against a test cluster; what is piped in is kubectl's stdin (apply -f -).
        function kc([string] $Context) { $input | kubectl --kubeconfig $kube.Kubeconfig --context $Context @args 2>&1 }
        # The guide's OSSM 2 federation, applied as the guide applies it; httpbin in a and b of west, curl's namespace in east.
        $address = @{ east = 'east-ingress.example.com'; west = 'west-ingress.example.com' }
        foreach ($c in 'east', 'west') {
            (Get-Content -Raw (Join-Path $guide "ossm2-smcp-$c.yaml")) | kc $c apply -f - | Out-Null
        }
        (Get-Content -Raw (Join-Path $guide 'ossm2-servicemeshpeer-west-mesh-in-east.yaml')).Replace('$WEST_INGRESS_ADDR', $address.west) | kc east apply -f - | Out-Null
        (Get-Content -Raw (Join-Path $guide 'ossm2-servicemeshpeer-east-mesh-in-west.yaml')).Replace('$EAST_INGRESS_ADDR', $address.east) | kc west apply -f - | Out-Null
        function New-MemberNamespace([string] $Context, [string] $Name) {
            "apiVersion: v1`nkind: Namespace`nmetadata: {name: $Name, labels: {istio-injection: enabled}}`n" | kc $Context apply -f - | Out-Null
        }
        New-MemberNamespace east client
        foreach ($ns in 'a', 'b') {
            New-MemberNamespace west $ns
            @"
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: $ns, labels: {app: httpbin}}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin, namespace: $ns, labels: {app: httpbin}}
spec:
  serviceAccountName: httpbin
  containers: [{name: httpbin, image: docker.io/mccutchen/go-httpbin:v2.15.0, ports: [{containerPort: 8080}]}]
"@ | kc west apply -f - | Out-Null
        }
        Get-Content -Raw (Join-Path $guide 'ossm2-exportedserviceset-east-mesh-in-west.yaml') | kc west apply -f - | Out-Null
        Get-Content -Raw (Join-Path $guide 'ossm2-importedserviceset-west-mesh-in-east.yaml') | kc east apply -f - | Out-Null
    }
    AfterAll { Stop-TestKube $kube }

    It 'reads the federation from the clusters: names, members, roots, ports and identities' {
        $out = Join-Path $TestDrive 'live'
        $m = ConvertTo-MeshOssm3Federation -Context east, west -KubeConfig $kube.Kubeconfig -OutputDirectory $out -WarningAction SilentlyContinue
        ($m.Target.ControlPlanes | Sort-Object Name).Name | Should -Be @('east-mesh', 'west-mesh')
        ($m.Target.ControlPlanes | Where-Object Name -eq 'east-mesh').MemberNamespaces | Should -Be @('client')
        ($m.Target.ControlPlanes | Where-Object Name -eq 'west-mesh').RootCertificate | Should -Match 'BEGIN CERTIFICATE'
        $export = $m.Target.Exports | Where-Object Namespace -eq 'a'
        $export.ServiceAccounts | Should -Be @('httpbin')
        "$($export.Ports)" | Should -Be 'http:8000:8080/HTTP'
        $import = Get-Content -Raw (Join-Path $out 'steps/3-import/east.yaml')
        $import | Should -Match 'httpbin\.a\.svc\.west-mesh-imports\.local'
        $import | Should -Match 'spiffe://west\.local/ns/a/sa/httpbin'
        $m.Steps[3].Actions.Command | Should -Contain 'kubectl --context east -n istio-system delete importedserviceset west-mesh'
        # The patch kubectl applies is the guide's, and its rollback takes it back.
        kc east -n istio-system patch smcp basic --type=merge --patch-file (Join-Path $out 'steps/1-prepare-ossm2/east.patch.json') | Out-Null
        $LASTEXITCODE | Should -Be 0
        kc east -n istio-system get smcp basic -o 'jsonpath={.spec.techPreview.meshConfig.trustDomainAliases[0]}/{.spec.cluster.network}' | Should -Be 'west.local/network-east-mesh'
        kc east -n istio-system patch smcp basic --type=merge --patch-file (Join-Path $out 'steps/1-prepare-ossm2/east.rollback.json') | Out-Null
        kc east -n istio-system get smcp basic -o 'jsonpath={.spec.techPreview.meshConfig.trustDomainAliases}{.spec.cluster.network}' | Should -BeNullOrEmpty
    }
}
