/* Kim Long land records: the helpers every map page shares (Leaflet only, no network).
 * Python builds GeoJSON whose feature properties carry their own style, popup, tooltip
 * and label (maps/widgets.py); this file turns them into Leaflet layers and keeps a
 * registry of the named layers, so tests and people can ask what the map holds. */
(function () {
  "use strict";
  var cadastre = window.cadastre = window.cadastre || {};
  /* Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop on a canvas click, which Leaflet 1.8
   * removed; without it every click on a parcel throws.  A no-op restores the click. */
  if (typeof L.DomEvent.fakeStop !== "function") {
    L.DomEvent.fakeStop = function () { return true; };
  }
  cadastre.layers = cadastre.layers || {};
  cadastre.map = null;

  cadastre.geoLayer = function (data) {
    return L.geoJSON(data, {
      style: function (f) { return (f.properties && f.properties.style) || {}; },
      pointToLayer: function (f, latlng) {
        var p = f.properties || {};
        if (p.label !== undefined && p.label !== null) {
          return L.marker(latlng, {
            icon: L.divIcon({className: p.label_class || "cad-label", html: p.label,
                             iconSize: null}),
            keyboard: false, interactive: !!p.popup
          });
        }
        return L.circleMarker(latlng, p.style || {radius: 5});
      },
      onEachFeature: function (f, layer) {
        var p = f.properties || {};
        if (p.popup) { layer.bindPopup(p.popup, {maxWidth: 380}); }
        if (p.tooltip) { layer.bindTooltip(p.tooltip, {sticky: true}); }
      }
    });
  };

  cadastre.register = function (map, key, layer) {
    cadastre.map = map;
    cadastre.layers[key] = layer;
  };

  /* Features a layer holds: leaves of nested groups, or a vector-tile layer's count. */
  cadastre.count = function (layer) {
    if (layer.cadastreFeatures !== undefined) { return layer.cadastreFeatures; }
    if (typeof layer.getLayers === "function") {
      return layer.getLayers().reduce(function (n, l) { return n + cadastre.count(l); }, 0);
    }
    return 1;
  };

  cadastre.summary = function () {
    var out = {};
    Object.keys(cadastre.layers).forEach(function (k) {
      var l = cadastre.layers[k];
      out[k] = {features: cadastre.count(l), shown: !!(cadastre.map && cadastre.map.hasLayer(l))};
    });
    return out;
  };

  /* Point features as markers (drawn with CSS, no image) in a marker-cluster group. */
  cadastre.addMarkers = function (group, data) {
    var markers = [];
    (data.features || []).forEach(function (f) {
      var c = f.geometry.coordinates;
      var m = L.marker([c[1], c[0]], {icon: L.divIcon({className: "cad-pin", iconSize: [14, 14]})});
      if (f.properties && f.properties.popup) { m.bindPopup(f.properties.popup, {maxWidth: 380}); }
      markers.push(m);
    });
    group.addLayers(markers);
  };

  cadastre.control = function (map, position, html, className) {
    var c = L.control({position: position});
    c.onAdd = function () {
      var div = L.DomUtil.create("div", className);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
    return c;
  };
})();
