// The language of our own pages, the portal (/) and the mobile page (/m): one rule for both.
// ?lang= (a shared link, or the portal's language menu) wins, else the browser's languages in
// their order of preference (what it sends as Accept-Language). The answer is the page's
// <html lang>, which the widget follows:
//   zh-CN    Simplified (zh, zh-CN, zh-Hans, zh-SG)
//   zh-Hant  Traditional, Taiwan standard (zh-TW, and zh-Hant unless the browser is Hong Kong's)
//   zh-HK    Traditional, Hong Kong standard (zh-HK, zh-MO, yue: Hong Kong, Macao, Cantonese)
//   en       English
// widget.js maps a page's tag to its label set the same way (tagScript). Loaded first in <head>
// so the page renders in its language from the start (the CSP forbids inline scripts).
var NIA_HK_TAG = /^(zh-(hant-)?(hk|mo)|yue)\b/i;

function niaBrowserLangs() {
  return navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ''];
}

/** The Traditional standard for this browser: zh-HK when its first Chinese language is Hong
 * Kong's, Macao's or Cantonese, else zh-Hant (Taiwan's). */
function niaTraditional() {
  var chinese = niaBrowserLangs().filter(function (l) { return /^(zh|yue)\b/i.test(l); })[0] || '';
  return NIA_HK_TAG.test(chinese) ? 'zh-HK' : 'zh-Hant';
}

/** The page's language: one of zh-CN, zh-Hant, zh-HK, en, or `fallback`. */
function niaPageLang(fallback) {
  function pageLang(tag) {
    if (NIA_HK_TAG.test(tag)) return 'zh-HK';
    // Traditional without a region: a Hong Kong or Macao browser reads Hong Kong characters.
    if (/^zh-hant$/i.test(tag)) return niaTraditional();
    if (/^zh-(hant|tw)\b/i.test(tag)) return 'zh-Hant';
    if (/^zh\b/i.test(tag)) return 'zh-CN';
    return /^en\b/i.test(tag) ? 'en' : null;
  }
  var asked = new URLSearchParams(location.search).get('lang');
  var tags = asked ? [asked] : niaBrowserLangs();
  for (var i = 0; i < tags.length; i++) {
    var lang = pageLang(String(tags[i]));
    if (lang) return lang;
  }
  return fallback;
}
