{
  'targets': [
    {
      'target_name': 'wsbolt',
      'sources': ['native/addon.cc', 'native/transport.cc'],
      # node-addon-api headers; this target also defines NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS.
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      # N-API 8 is in every Node >= 12.22: one binary for all supported Nodes.
      'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      # No -mavx2 here: AVX2 kernels are chosen at run time, so the binary runs on any x86-64.
      'cflags!': ['-O2'],
      'cflags_cc!': ['-std=gnu++17', '-std=gnu++20', '-O2'],
      'cflags_cc': ['-O3', '-std=c++17', '-fno-exceptions', '-fvisibility=hidden'],
      'conditions': [
        ["OS=='mac'", {
          'xcode_settings': {
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
            'CLANG_CXX_LIBRARY': 'libc++',
            'GCC_ENABLE_CPP_EXCEPTIONS': 'NO',
            'GCC_OPTIMIZATION_LEVEL': '3',
            'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
            'MACOSX_DEPLOYMENT_TARGET': '10.15'
          }
        }],
        ["OS=='win'", {
          'msvs_settings': {
            'VCCLCompilerTool': {
              'AdditionalOptions': ['/std:c++17', '/O2'],
              'ExceptionHandling': 0
            }
          }
        }]
      ]
    }
  ]
}
