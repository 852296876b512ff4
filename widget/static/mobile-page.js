// The mobile page (/m); loaded from <head> so the language is set before anything renders.
// ?lang=en|zh|zh-Hant, else the phone's language (zh-TW, zh-HK, zh-MO and yue: Traditional). /m?t=TOKEN (continue on your phone) is read by the widget.
(function () {
  var q = new URLSearchParams(location.search).get('lang');
  var l = q || navigator.language || 'zh';
  document.documentElement.lang = /^(zh-(hant|tw|hk|mo)|yue)\b/i.test(l) ? 'zh-Hant' : /^zh/i.test(l) ? 'zh-CN' : 'en';
  if (document.documentElement.lang === 'en') document.title = '12367 ONLINE chat';
})();
