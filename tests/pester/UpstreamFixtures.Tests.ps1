#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# Issue 13 through the real cmdlets: each upstream object the topology fixtures reproduce (xunit UpstreamFixtureTests
# compares those with the upstream copies field by field) is expressible with the cmdlets too, and renders the same.

BeforeAll {
    $modulePath = if ($env:MESHFED_MODULE_PATH) { $env:MESHFED_MODULE_PATH } else {
        Join-Path $PSScriptRoot '../../src/MeshFederation/bin/Release/net8.0/MeshFederation.psd1'
    }
    Import-Module $modulePath -Force
    $topologies = Join-Path $PSScriptRoot '../MeshFederation.Tests/Fixtures/Topologies'

    # Key-order-insensitive JSON of one rendered object, for field-by-field comparison.
    function ConvertTo-Canonical([object] $Node) {
        if ($Node -is [System.Collections.IDictionary]) {
            $parts = foreach ($k in ($Node.Keys | Sort-Object -CaseSensitive)) { '"{0}":{1}' -f $k, (ConvertTo-Canonical $Node[$k]) }
            return '{' + ($parts -join ',') + '}'
        }
        if ($Node -is [System.Collections.IList]) { return '[' + (($Node | ForEach-Object { ConvertTo-Canonical $_ }) -join ',') + ']' }
        return ($Node | ConvertTo-Json -Compress)
    }

    # The rendered object's JSON (a copy where the module offers GetContent()).
    function Get-RenderedJson([object] $Doc) {
        $text = if ($Doc.PSObject.Methods['GetContent']) { $Doc.GetContent().ToJsonString() } else { $Doc.Content.ToJsonString() }
        $text | ConvertFrom-Json -AsHashtable -Depth 64
    }

    function Get-Rendered([object[]] $Objects, [string] $Kind, [string] $Name) {
        $doc = $Objects | ConvertTo-MeshManifest -WarningAction SilentlyContinue | ForEach-Object Documents |
            Where-Object { $_.Kind -eq $Kind -and $_.Name -eq $Name }
        $doc | Should -HaveCount 1 -Because "$Kind/$Name is rendered once"
        ConvertTo-Canonical (Get-RenderedJson $doc)
    }

    function Get-FromTopology([string] $Topology, [string] $Kind, [string] $Name) {
        Get-Rendered -Objects (Import-MeshTopology -Path (Join-Path $topologies "$Topology.yaml")) -Kind $Kind -Name $Name
    }
}

Describe 'Upstream objects through the cmdlets' {
    It 'OSSM 2 locality failover: the DestinationRule and the ImportedServiceSet of the OpenShift docs' {
        $red = New-MeshControlPlane -Name red-mesh -Namespace red-mesh-system -Cluster red -MemberNamespace bookinfo
        $green = New-MeshControlPlane -Name green-mesh -Namespace green-mesh-system -Cluster green -MemberNamespace bookinfo
        $peers = $red, $green | New-MeshPeer
        $export = $peers | Where-Object LocalMesh -eq 'red-mesh' | Export-MeshService -Namespace bookinfo -Name ratings
        $import = $peers | Where-Object LocalMesh -eq 'green-mesh' |
            Import-MeshService -Namespace bookinfo -Name ratings -AliasNamespace bookinfo -AliasName ratings -ImportAsLocal -Region us-west
        $outlier = @{ Consecutive5xxErrors = 3; Interval = '10s'; BaseEjectionTime = '1m' }
        $failover = $green | New-MeshFailoverPolicy -Name default-failover -Namespace bookinfo -ServiceHost ratings.bookinfo.svc.cluster.local -FromRegion us-east -ToRegion us-west @outlier
        $failover.ApiVersion | Should -Be 'networking.istio.io/v1beta1'
        $all = $red, $green, $peers, $export, $import, $failover
        Get-Rendered $all DestinationRule default-failover | Should -Be (Get-FromTopology ossm2-locality-failover DestinationRule default-failover)
        Get-Rendered $all ImportedServiceSet red-mesh | Should -Be (Get-FromTopology ossm2-locality-failover ImportedServiceSet red-mesh)
    }

    It 'the maistra federation sample: SMCP fed-export without spec.version, gateways labelled with the peer' {
        $gateway = @{ routerMode = $null; runtime = @{ deployment = @{ autoScaling = @{ enabled = $false } }; container = @{ resources = @{ requests = @{ cpu = '10m'; memory = '128Mi' }; limits = @{} } } } }
        $spec = @{
            runtime = @{ defaults = @{ container = @{ imagePullPolicy = 'Always' } } }
            addons = @{ grafana = @{ enabled = $true }; kiali = @{ enabled = $true }; prometheus = @{ enabled = $true } }
            tracing = @{ type = 'Jaeger'; sampling = 10000 }
            proxy = @{ accessLogging = @{ file = @{ name = '/dev/stdout' } } }
        }
        $nlb = @{ 'service.beta.kubernetes.io/aws-load-balancer-type' = 'nlb' }
        $mesh1 = New-MeshControlPlane -Name mesh1 -ControlPlaneName fed-export -Namespace mesh1-system -Cluster mesh1 -Version '' -MemberNamespace mesh1-bookinfo `
            -IngressAddress @{ mesh2 = 'mesh2-ingress.mesh1.example.com' } -IngressServiceAnnotation $nlb -GatewayOverride $gateway -SpecOverride $spec `
            -RootCertificate "-----BEGIN CERTIFICATE-----`nMIIBmesh1`n-----END CERTIFICATE-----"
        $mesh2 = New-MeshControlPlane -Name mesh2 -ControlPlaneName fed-import -Namespace mesh2-system -Cluster mesh2 -Version '' -MemberNamespace mesh2-bookinfo `
            -IngressAddress @{ mesh1 = 'mesh1-ingress.mesh2.example.com' } -IngressServiceAnnotation $nlb -GatewayOverride $gateway -SpecOverride $spec `
            -RootCertificate "-----BEGIN CERTIFICATE-----`nMIIBmesh2`n-----END CERTIFICATE-----"
        $peers = $mesh1, $mesh2 | New-MeshPeer
        $to2 = $peers | Where-Object LocalMesh -eq 'mesh1'
        $exports = 'ratings', 'mongodb' | ForEach-Object { $to2 | Export-MeshService -Namespace mesh1-bookinfo -Name $_ -AliasNamespace bookinfo -AliasName $_ }
        $import = $peers | Where-Object LocalMesh -eq 'mesh2' | Import-MeshService -Namespace bookinfo -AliasNamespace mesh2-bookinfo
        $all = $mesh1, $mesh2, $peers, $exports, $import
        foreach ($o in @(('ServiceMeshControlPlane', 'fed-export'), ('ServiceMeshControlPlane', 'fed-import'), ('ExportedServiceSet', 'mesh2'), ('ImportedServiceSet', 'mesh1'), ('ConfigMap', 'mesh2-ca-root-cert'))) {
            Get-Rendered $all $o[0] $o[1] | Should -Be (Get-FromTopology maistra-federation-sample $o[0] $o[1]) -Because "$($o[0])/$($o[1])"
        }
        $smcp = $all | ConvertTo-MeshManifest -Cluster mesh1 -WarningAction SilentlyContinue | ForEach-Object Documents | Where-Object Kind -eq ServiceMeshControlPlane
        $spec = (Get-RenderedJson $smcp)['spec']
        $spec.ContainsKey('version') | Should -BeFalse
        $spec['gateways']['additionalEgress']['mesh2-egress']['service']['metadata']['labels']['federation.maistra.io/egress-for'] | Should -Be 'mesh2'
    }

    It 'the OCM demo: a NodePort peer, a .svc.<cluster>.global host, STATIC and endpoint labels' {
        $c1 = New-MeshControlPlane -Name cluster1-istio -Style MultiMesh -Cluster cluster1 -GatewayExposure NodePort -NodeAddress 172.18.0.2
        $c2 = New-MeshControlPlane -Name cluster2-istio -Style MultiMesh -Cluster cluster2 -GatewayExposure NodePort -NodeAddress 172.18.0.3 -NodePortBase 31443
        $peers = $c1, $c2 | New-MeshPeer
        $export = $peers | Where-Object LocalMesh -eq 'cluster2-istio' | Export-MeshService -Namespace bookinfo -Name reviews
        $host_ = 'reviews.bookinfo.svc.cluster2.global'
        $import = $peers | Where-Object LocalMesh -eq 'cluster1-istio' | Import-MeshService -Namespace bookinfo -Name reviews -Port 'http:9080/HTTP' `
            -ServiceEntryName $host_ -ServiceEntryNamespace istio-system -ServiceEntryHost $host_ -Vip 255.51.210.11 -Resolution STATIC `
            -EndpointLabel @{ app = 'reviews'; version = 'v3' } -ServiceEntryApiVersion networking.istio.io/v1beta1
        $import.LocalHost | Should -Be $host_
        Get-Rendered ($c1, $c2, $peers, $export, $import) ServiceEntry $host_ | Should -Be (Get-FromTopology ocm-multicluster-mesh-nodeport ServiceEntry $host_)
    }

    It 'istio.io: httpbin.bar.global in the client namespace foo, VIP 240.0.0.2, protocol http as written' {
        $c1 = New-MeshControlPlane -Name cluster1 -Style MultiMesh -Cluster cluster1 -IngressAddress @{ '*' = '192.0.2.10' }
        $c2 = New-MeshControlPlane -Name cluster2 -Style MultiMesh -Cluster cluster2 -IngressAddress @{ '*' = '192.0.2.20' }
        $peers = $c1, $c2 | New-MeshPeer
        $export = $peers | Where-Object LocalMesh -eq 'cluster2' | Export-MeshService -Namespace bar -Name httpbin
        $import = $peers | Where-Object LocalMesh -eq 'cluster1' | Import-MeshService -Namespace bar -Name httpbin -Port 'http1:8000/http' `
            -ServiceEntryName httpbin-bar -ServiceEntryNamespace foo -Vip 240.0.0.2 -ServiceEntryApiVersion networking.istio.io/v1alpha3
        Get-Rendered ($c1, $c2, $peers, $export, $import) ServiceEntry httpbin-bar | Should -Be (Get-FromTopology istio-multicluster-gateways ServiceEntry httpbin-bar)
    }

    It 'label selectors with matchExpressions and several aliases' {
        $m1 = New-MeshControlPlane -Name mesh1 -Namespace mesh1-system -Cluster c1
        $m2 = New-MeshControlPlane -Name mesh2 -Namespace mesh2-system -Cluster c2
        $peers = $m1, $m2 | New-MeshPeer
        $to2 = $peers | Where-Object LocalMesh -eq 'mesh1'
        $first = $to2 | Export-MeshService -Namespace '*' -LabelSelector @{ 'export-service' = 'true' } `
            -MatchExpression @{ key = 'tier'; operator = 'In'; values = 'backend', 'data' }, @{ key = 'legacy'; operator = 'DoesNotExist' } `
            -LabelAlias '*/foo->*/bar', 'foo/*->bar/*', '*/*->bar/*'
        $second = $to2 | Export-MeshService -Namespace mesh1-bookinfo -MatchExpression @{ key = 'app'; operator = 'NotIn'; values = 'internal' }
        Get-Rendered ($m1, $m2, $peers, $first, $second) ExportedServiceSet mesh2 | Should -Be (Get-FromTopology composed-export-aliases-matchexpressions ExportedServiceSet mesh2)
    }

    It "seed 000's passthrough VirtualService from a control plane and -RemoteHost" {
        $m1 = New-MeshControlPlane -Name mesh1 -Cluster mesh1 -MemberNamespace mesh1-bookinfo
        $m2 = New-MeshControlPlane -Name mesh2 -Cluster mesh2 -MemberNamespace mesh2-bookinfo, mesh2-imports
        $route = $m2 | New-MeshTrafficSplit -Name ratings-passthrough -Namespace mesh2-imports -RouteHost ratings.mesh2-bookinfo.svc.cluster.local `
            -RemoteHost ratings.mesh1-bookinfo.svc.cluster.local -RewriteAuthority ratings.mesh1-bookinfo.svc.cluster.local
        Get-Rendered ($m1, $m2, ($m1, $m2 | New-MeshPeer), $route) VirtualService ratings-passthrough | Should -Be (Get-FromTopology seed-000-passthrough VirtualService ratings-passthrough)
    }

    It 'a traffic split can target one host of a wildcard import' {
        $m1 = New-MeshControlPlane -Name mesh1 -Cluster mesh1
        $m2 = New-MeshControlPlane -Name mesh2 -Cluster mesh2
        $import = $m2 | Import-MeshService -Peer mesh1 -Namespace bookinfo -AliasNamespace mesh2-bookinfo
        $import.LocalHost | Should -BeNullOrEmpty
        $split = $import | New-MeshTrafficSplit -Name ratings-split -LocalHost ratings.mesh2-bookinfo.svc.cluster.local -RemoteHost ratings.mesh2-bookinfo.svc.mesh1-imports.local -RemoteWeight 50
        $split.RemoteHost | Should -Be 'ratings.mesh2-bookinfo.svc.mesh1-imports.local'
        $split.Namespace | Should -Be 'mesh2-bookinfo'
    }

    It "istio.io's locality failover: connection pool and ROUND_ROBIN" {
        $cps = New-MeshControlPlane -Name mesh1 -Style MultiPrimary -Cluster cluster1, cluster2 -Network network1, network2
        $dr = $cps[0] | New-MeshFailoverPolicy -Name helloworld -Namespace sample -FromRegion region1 -ToRegion region2 -BaseEjectionTime '10m' `
            -ConnectionPool @{ http = @{ maxRequestsPerConnection = 1 } } -LoadBalancer ROUND_ROBIN -ApiVersion networking.istio.io/v1beta1
        Get-Rendered ($cps, ($cps | New-MeshPeer), $dr) DestinationRule helloworld | Should -Be (Get-FromTopology istio-locality-failover DestinationRule helloworld)
    }

    It 'rejects a Sail version the CRD rejects, naming the versions it takes' {
        { New-MeshControlPlane -Name m -Style MultiPrimary -Cluster a -Version v1.13.2 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*v1.13.2*v1.27.3*'
        { New-MeshControlPlane -Name m -Style MultiPrimary -Cluster a -Version v1.27.3 -SailApiVersion sailoperator.io/v1alpha1 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*v1.24.1*'
        (New-MeshControlPlane -Name m -Style MultiPrimary -Cluster a -SailApiVersion sailoperator.io/v1alpha1).Version | Should -Be 'v1.24.1'
    }

    It 'judges an override by the upstream schema when rendering, with the field path' {
        $cp = New-MeshControlPlane -Name m -SpecOverride @{ tracng = @{ type = 'Jaeger' } }
        $cp | ConvertTo-MeshManifest -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        # The problem is the message, the fix (here: the field meant) its RecommendedAction, shown once.
        "$err $($err.ErrorDetails.RecommendedAction)" | Should -BeLike '*spec.tracng*tracing*'
    }
}
