// The mobile page (/m); loaded from <head> so the language is set before anything renders.
// ?lang=en|zh, else the phone's language. /m?t=TOKEN (continue on your phone) is read by the widget.
(function () {
  var q = new URLSearchParams(location.search).get('lang');
  var l = q || navigator.language || 'zh';
  document.documentElement.lang = /^zh/i.test(l) ? 'zh-CN' : 'en';
  if (document.documentElement.lang === 'en') document.title = '12367 ONLINE chat';
})();
